package io.pgsidecar.core.storage.s3;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.logging.Level;
import java.util.logging.Logger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Builds the S3 client for one {@link PgsidecarConfig.S3}. The HTTP client is the SDK's Apache
 * HttpClient 5 client (blocking, like the driver; it streams request bodies): no Netty client (the agent pins
 * its own Netty for Vert.x), no CRT (native). HttpURLConnection was tried first: it buffers each
 * request body whole, a second copy of every part in flight.
 * The SDK makes exactly one try per request, bounded by {@code storage.timeout}:
 * {@link io.pgsidecar.core.storage.retry.RetryPolicy} is the one retry layer. Checksums are computed
 * only where S3 requires them, so S3-compatible stores that do not know the newer checksum
 * headers keep working. Secrets are read from their files here and handed straight to the SDK.
 */
final class S3Clients {

  /**
   * Held because JUL keeps loggers weakly; the SDK logs every failed try otherwise. JUL here only
   * sets the SDK's level (System.Logger has no levels to set); our own lines use System.Logger.
   */
  private static final Logger SDK_LOG = Logger.getLogger("software.amazon.awssdk");

  static {
    if (SDK_LOG.getLevel() == null) {
      SDK_LOG.setLevel(Level.SEVERE);
    }
  }

  private S3Clients() {}

  static S3Client build(PgsidecarConfig.S3 cfg, Duration tryTimeout) throws StorageException {
    var http = Apache5HttpClient.builder()
        .maxConnections(64) // parts and ranges in flight of several creates and reads at once
        .connectionTimeout(Duration.ofSeconds(Math.min(10, Math.max(1, tryTimeout.toSeconds()))))
        .socketTimeout(tryTimeout);
    var builder = S3Client.builder()
        .httpClientBuilder(http)
        .region(region(cfg))
        .forcePathStyle(cfg.pathStyle())
        .credentialsProvider(credentials(cfg))
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry())
            .apiCallAttemptTimeout(tryTimeout));
    if (cfg.endpoint().isPresent()) {
      builder.endpointOverride(URI.create(cfg.endpoint().get()));
    }
    try {
      return builder.build();
    } catch (IllegalArgumentException | IllegalStateException | SdkClientException e) {
      throw new StorageException("cannot build the S3 client for bucket " + cfg.bucket() + ": "
          + S3Errors.firstLine(e.getMessage()).replaceFirst("^: ", "")
          + "; check storage.s3.endpoint and storage.s3.region");
    }
  }

  static Region region(PgsidecarConfig.S3 cfg) throws StorageException {
    if (cfg.region().isPresent()) {
      return Region.of(cfg.region().get());
    }
    try {
      return new DefaultAwsRegionProviderChain().getRegion();
    } catch (SdkClientException e) {
      if (cfg.endpoint().isPresent()) {
        return Region.US_EAST_1; // what S3-compatible stores accept when they ignore regions
      }
      throw new StorageException("no region for bucket " + cfg.bucket() + ": set storage.s3.region"
          + " (or AWS_REGION)");
    }
  }

  private static AwsCredentialsProvider credentials(PgsidecarConfig.S3 cfg)
      throws StorageException {
    return switch (cfg.auth()) {
      case DEFAULT -> DefaultCredentialsProvider.builder().build();
      case STATIC -> {
        Path id = cfg.accessKeyIdFile().orElseThrow(() -> new StorageException(
            "storage.s3.auth=static needs storage.s3.access-key-id-file"));
        Path secret = cfg.secretAccessKeyFile().orElseThrow(() -> new StorageException(
            "storage.s3.auth=static needs storage.s3.secret-access-key-file"));
        yield StaticCredentialsProvider.create(AwsBasicCredentials.create(
            secret(id, "storage.s3.access-key-id-file"),
            secret(secret, "storage.s3.secret-access-key-file")));
      }
    };
  }

  private static String secret(Path file, String configKey) throws StorageException {
    try {
      String s = Files.readString(file).strip();
      if (s.isEmpty()) {
        throw new StorageException(configKey + " " + file + " is empty");
      }
      return s;
    } catch (IOException e) {
      throw new StorageException("cannot read " + configKey + " " + file + ": " + e
          + "; check the mounted Secret and the file's permissions", e);
    }
  }
}
