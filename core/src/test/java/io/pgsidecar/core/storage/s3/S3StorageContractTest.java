package io.pgsidecar.core.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.S3Auth;
import io.pgsidecar.core.config.PgsidecarConfig.S3Encryption;
import io.pgsidecar.core.storage.GeneratedContent;
import io.pgsidecar.core.storage.ObjectConflictException;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageContractTest;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.testkit.S3Server;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract on the S3 driver against a real S3Mock (which honours {@code If-None-Match: *}),
 * each test in a bucket of its own, reached path-style through an endpoint override with a
 * static key pair read from files (as for MinIO, Hetzner or B2).
 */
class S3StorageContractTest extends StorageContractTest {

  /** S3's smallest part: a few MiB already take the multipart path. */
  static final long PART = 5L << 20;
  private static final AtomicInteger BUCKETS = new AtomicInteger();

  static S3Server server;

  @TempDir
  Path dir;

  @BeforeAll
  static void startServer() throws Exception {
    server = S3Server.s3Mock();
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  static PgsidecarConfig.S3 config(S3Server server, Path dir, String bucket, long partSize)
      throws Exception {
    Path id = S3Server.writeSecret(dir.resolve("access-key-id"), S3Server.ACCESS_KEY + "\n");
    Path secret = S3Server.writeSecret(dir.resolve("secret-access-key"), S3Server.SECRET_KEY);
    return new PgsidecarConfig.S3(bucket, Optional.of(server.endpoint()),
        Optional.of(S3Server.REGION), true, S3Auth.STATIC, Optional.of(id), Optional.of(secret),
        S3Encryption.NONE, Optional.empty(), Optional.empty(), partSize, 4);
  }

  private S3Storage open(String bucket, long partSize) throws Exception {
    return S3Storage.open(config(server, dir, bucket, partSize), "", Duration.ofSeconds(30),
        RetryPolicy.defaults());
  }

  @Override
  protected Storage newStorage() throws Exception {
    String bucket = server.createBucket("contract" + BUCKETS.incrementAndGet());
    boolean large = testInfo.getTestMethod().orElseThrow().getName().startsWith("large");
    return open(bucket, large ? S3Storage.DEFAULT_PART_SIZE : PART);
  }

  @Override
  protected Optional<Storage> storageAtMissingLocation() throws Exception {
    return Optional.of(open("nosuchbucket", PART));
  }

  @Override
  protected String missingLocationMessage() {
    return "bucket nosuchbucket does not exist at " + server.endpoint()
        + ": create it or fix storage.s3.bucket";
  }

  @Test
  void describeNamesBucketAndEndpointOnly() throws Exception {
    try (var s = open("somebucket", PART)) {
      assertEquals("s3://somebucket at " + server.endpoint(), s.describe());
    }
  }

  @Test
  void multipartCreatesOfOneKeyHaveOneWinnerAndHideTheirStagingObjects() throws Exception {
    var a = new GeneratedContent(1, 2 * PART + 11);
    var b = new GeneratedContent(2, 2 * PART + 12);
    storage.create("base/1/data.tar", a, () -> new ObjectMetadata(a.sha256(), 2 * PART + 11, "none", ""));

    var e = assertThrows(ObjectConflictException.class, () -> storage.create("base/1/data.tar", b,
        () -> new ObjectMetadata(b.sha256(), 2 * PART + 12, "none", "")));

    assertTrue(e.getMessage().startsWith("object base/1/data.tar already exists with other content"
        + " (stored: SHA-256 " + a.sha256()), e.getMessage());
    assertEquals(a.sha256(), GeneratedContent.sha256Of(storage.open("base/1/data.tar").orElseThrow()));
    try (Stream<?> listed = storage.list("")) {
      assertEquals(1, listed.count(), "staging objects are deleted or hidden");
    }
    // The same content again (a retry whose reply was lost) is the stored object.
    var again = new GeneratedContent(1, 2 * PART + 11);
    assertEquals(2 * PART + 11, storage.create("base/1/data.tar", again,
        () -> new ObjectMetadata(again.sha256(), 2 * PART + 11, "none", "")).storedSize());
  }

  @Test
  void keysInTheDriversPrivateNamespaceAreRefused() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> storage.create("wal/.pgsidecar-upload-x", bytes("x"), () -> meta("0")));
    assertEquals("storage key wal/.pgsidecar-upload-x has a segment starting with .pgsidecar-;"
        + " those names are the S3 driver's own", e.getMessage());
  }

  @Test
  void missingKeyFileIsNamed() throws Exception {
    var cfg = config(server, dir, "x1x", PART);
    var broken = new PgsidecarConfig.S3(cfg.bucket(), cfg.endpoint(), cfg.region(), true,
        S3Auth.STATIC, Optional.of(dir.resolve("absent")), cfg.secretAccessKeyFile(),
        S3Encryption.NONE, Optional.empty(), Optional.empty(), PART, 2);
    var e = assertThrows(StorageException.class, () -> S3Storage.open(broken, "",
        Duration.ofSeconds(5), RetryPolicy.defaults()));
    assertTrue(e.getMessage().startsWith("cannot read storage.s3.access-key-id-file "
        + dir.resolve("absent")), e.getMessage());
  }

  @Test
  void outageIsAnErrorNamingTheStoreAndServiceResumesAfterIt() throws Exception {
    String bucket = server.createBucket("outage" + BUCKETS.incrementAndGet());
    var cfg = new PgsidecarConfig.StorageConfig(PgsidecarConfig.StorageType.S3, "",
        Optional.empty(), null, Duration.ofSeconds(5), 0,
        RetryPolicy.Settings.DEFAULTS.withMaxRetries(0), config(server, dir, bucket, PART));
    try (var s = S3Storage.open(cfg, RetryPolicy.GiveUps.NONE)) {
      s.create("before", bytes("kept"), () -> meta("01"));
      server.stop();
      try {
        var e = assertThrows(StorageException.class, () -> s.stat("before"));
        assertTrue(e.getMessage().startsWith("stat of before in s3://" + bucket + " at "
            + server.endpoint() + " failed: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; check the network path to the storage endpoint"),
            e.getMessage());
      } finally {
        server.start();
      }
      assertEquals("kept", read(s, "before"));
    }
  }
}
