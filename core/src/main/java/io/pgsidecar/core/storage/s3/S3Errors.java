package io.pgsidecar.core.storage.s3;

import io.pgsidecar.core.config.PgsidecarConfig.S3Auth;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.io.InterruptedIOException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkServiceException;

/**
 * Turns what the AWS SDK throws into a {@link StorageException} that names the operation, the
 * object and what to check. Only the status, the service's error code and the first line of its
 * message are kept: never a header, a signature or a credential.
 */
final class S3Errors {

  private final String bucket;
  private final String endpoint;
  private final S3Auth auth;

  /** {@code auth} null: a client built elsewhere (tests). */
  S3Errors(String bucket, String endpoint, S3Auth auth) {
    this.bucket = bucket;
    this.endpoint = endpoint;
    this.auth = auth;
  }

  static int status(Throwable e) {
    return e instanceof SdkServiceException s ? s.statusCode() : -1;
  }

  static String code(Throwable e) {
    if (e instanceof AwsServiceException a && a.awsErrorDetails() != null
        && a.awsErrorDetails().errorCode() != null) {
      return a.awsErrorDetails().errorCode();
    }
    return "";
  }

  static boolean is(Throwable e, int status, String code) {
    return status(e) == status && (code == null || code.equals(code(e)));
  }

  /**
   * A write with {@code If-None-Match: *} refused because the key exists: 412 Precondition Failed
   * (AWS, and S3Mock on PutObject); S3Mock 4.11 answers a conditional CompleteMultipartUpload of
   * an existing key with 304 Not Modified instead.
   */
  static boolean refusedAsExisting(Throwable e) {
    return is(e, 412, null) || is(e, 304, null);
  }

  static boolean bucketMissing(Throwable e) {
    return is(e, 404, "NoSuchBucket");
  }

  /**
   * Whether another try may succeed: throttling (429, 503 SlowDown), timeouts (408), server errors
   * (5xx but 501 and 505), a conditional write that met a concurrent one (409
   * ConditionalRequestConflict: AWS asks to retry), and failures with no answer at all (refused or
   * reset connections, a try past storage.timeout). Other answers are the service's verdict.
   * A client-side failure without an I/O cause (no credentials found, a bad argument) is final.
   */
  static boolean retryable(Throwable e) {
    if (e instanceof SdkServiceException s) {
      int status = s.statusCode();
      return status == 408 || status == 429 || (status >= 500 && status != 501 && status != 505)
          || (status == 409 && "ConditionalRequestConflict".equals(code(e)));
    }
    if (e instanceof StorageException || e instanceof InterruptedIOException
        || e instanceof IllegalArgumentException) {
      return false;
    }
    if (e instanceof ApiCallAttemptTimeoutException) {
      return true;
    }
    if (e instanceof SdkClientException) {
      for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
        if (c instanceof IOException && !(c instanceof InterruptedIOException)) {
          return true;
        }
      }
      return false;
    }
    return e instanceof IOException;
  }

  String where() {
    return "s3://" + bucket + (endpoint == null ? "" : " at " + endpoint);
  }

  StorageException bucketMissing() {
    return new StorageException("bucket " + bucket + " does not exist"
        + (endpoint == null ? "" : " at " + endpoint) + ": create it or fix storage.s3.bucket");
  }

  StorageException translate(String operation, String key, Throwable e) {
    if (e instanceof StorageException s) {
      return s;
    }
    String what = operation + (key == null ? "" : " of " + key) + " in " + where();
    if (bucketMissing(e)) {
      return new StorageException(bucketMissing().getMessage() + " (" + what + ")", e);
    }
    if (e instanceof SdkServiceException s) {
      String detail = s.statusCode() + (code(e).isEmpty() ? "" : " " + code(e))
          + firstLine(e instanceof AwsServiceException a && a.awsErrorDetails() != null
              ? a.awsErrorDetails().errorMessage() : null);
      if (s.statusCode() == 403 || s.statusCode() == 401) {
        return new StorageException(what + " was refused (" + detail + ") with auth " + authName()
            + ": " + authHint(), e);
      }
      return new StorageException(what + " failed (" + detail + ")", e);
    }
    if (e instanceof SdkClientException && !retryable(e)) {
      return new StorageException(what + " failed: " + firstLine(e.getMessage()).replaceFirst("^: ", "")
          + "; with auth " + authName() + " " + authHint(), e);
    }
    return new StorageException(what + " failed: " + e.getClass().getSimpleName()
        + firstLine(e.getMessage()) + "; check the network path to the storage endpoint", e);
  }

  private String authName() {
    return auth == null ? "(client supplied)" : auth.name();
  }

  private String authHint() {
    if (auth == null) {
      return "check the client's credentials";
    }
    return switch (auth) {
      case STATIC -> "check the key pair in storage.s3.access-key-id-file and"
          + " storage.s3.secret-access-key-file and that it may read, write, list and delete in"
          + " bucket " + bucket;
      case DEFAULT -> "check the credentials the AWS default chain finds here (AWS_ACCESS_KEY_ID,"
          + " AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, the instance profile) and that they"
          + " may read, write, list and delete in bucket " + bucket;
    };
  }

  static String firstLine(String s) {
    if (s == null || s.isBlank()) {
      return "";
    }
    String line = s.strip().lines().findFirst().orElse("");
    return ": " + (line.length() > 300 ? line.substring(0, 300) + "..." : line);
  }
}
