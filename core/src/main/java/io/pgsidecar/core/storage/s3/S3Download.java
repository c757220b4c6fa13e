package io.pgsidecar.core.storage.s3;

import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.retry.RetryPolicy.Operation;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * Reads an object as ranged GETs of {@code partSize} bytes, up to {@code concurrency} ranges
 * fetched ahead on virtual threads. Ranges of {@code partSize} are counted by the storage's one
 * read {@code budget} (permits shared by every stream of one {@link S3Storage}), taken without
 * waiting: a stream that finds none left reads {@link #LEAN} ranges one at a time instead, so
 * every stream starts and moves on (none waits for a range another stream holds) while all
 * streams together hold at most the budget's ranges plus one lean range each. Without it, the
 * agent prefetching 8 segments at once (wal.prefetch-count) held up to 5 ranges of 8 MiB per
 * stream and ran its 80 MiB heap out of memory (S3UploadMemoryTest); Azure reads have the same
 * budget (ReadBuffers). Every
 * range after the first is pinned to the first one's ETag ({@code If-Match}), so a reader never
 * mixes two objects that had the key one after the other. Each range is one retried request:
 * a connection reset mid-object costs one range, not the whole object.
 */
final class S3Download extends InputStream {

  private final S3Client s3;
  private final String bucket;
  private final String key;
  private final int partSize;
  private final int concurrency;
  private final ExecutorService executor;
  private final S3Errors errors;
  private final RetryPolicy retry;
  private final long size;
  private final String etag;
  /** Range size of a stream that found the read budget spent. */
  static final int LEAN = 512 * 1024;

  private final Semaphore budget;
  private final Deque<Range> ahead = new ArrayDeque<>();
  private long nextRange;
  private byte[] current;
  private boolean currentBudgeted;
  private int pos;
  private boolean closed;

  /** A range fetched ahead, and whether it holds a permit of the read budget. */
  private record Range(CompletableFuture<byte[]> data, boolean budgeted) {}

  private S3Download(S3Client s3, String bucket, String key, int partSize, int concurrency,
      ExecutorService executor, S3Errors errors, RetryPolicy retry, long size, String etag,
      byte[] first, Semaphore budget, boolean firstBudgeted) {
    this.budget = budget;
    this.currentBudgeted = firstBudgeted;
    this.s3 = s3;
    this.bucket = bucket;
    this.key = key;
    this.partSize = partSize;
    this.concurrency = concurrency;
    this.executor = executor;
    this.errors = errors;
    this.retry = retry;
    this.size = size;
    this.etag = etag;
    this.current = first;
    this.nextRange = first.length;
  }

  /** The object's stream, or empty when the key does not exist. */
  static Optional<InputStream> open(S3Client s3, String bucket, String key, int partSize,
      int concurrency, ExecutorService executor, S3Errors errors, RetryPolicy retry,
      Semaphore budget) throws IOException {
    boolean budgeted = budget.tryAcquire();
    int firstLength = budgeted ? partSize : Math.min(LEAN, partSize);
    boolean handedOver = false;
    First first;
    try {
      first = retry.call(Operation.READ, "read of " + key, () -> {
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> b.bucket(bucket)
            .key(key).range("bytes=0-" + (firstLength - 1)))) {
          GetObjectResponse r = in.response();
          byte[] data = r.contentLength() == null ? in.readAllBytes()
              : readExactly(in, r.contentLength(), "read of " + key);
          return new First(total(r.contentRange(), data.length), r.eTag(), data);
        }
      }, S3Errors::retryable);
      var stream = new S3Download(s3, bucket, key, partSize, concurrency, executor, errors,
          retry, first.size(), first.etag(), first.data(), budget, budgeted);
      handedOver = true;
      return Optional.of(stream);
    } catch (RuntimeException e) {
      if (S3Errors.is(e, 404, "NoSuchKey")) {
        return Optional.empty();
      }
      if (S3Errors.is(e, 416, null)) {
        // A range of an empty object: S3 refuses it; the object exists and has no bytes.
        return Optional.of(InputStream.nullInputStream());
      }
      throw errors.translate("read", key, e);
    } finally {
      if (budgeted && !handedOver) {
        budget.release();
      }
    }
  }

  /** Exactly {@code length} bytes into one array (readAllBytes would copy them once more). */
  private static byte[] readExactly(InputStream in, long length, String what) throws IOException {
    byte[] data = new byte[Math.toIntExact(length)];
    int got = in.readNBytes(data, 0, data.length);
    if (got != data.length) {
      throw new IOException(what + " returned " + got + " of " + length + " bytes");
    }
    return data;
  }

  private record First(long size, String etag, byte[] data) {}

  /** The object's size from {@code Content-Range: bytes 0-N/SIZE}; without one, the body's. */
  private static long total(String contentRange, long bodyLength) {
    if (contentRange != null) {
      int slash = contentRange.lastIndexOf('/');
      if (slash >= 0 && !contentRange.endsWith("*")) {
        return Long.parseLong(contentRange.substring(slash + 1).strip());
      }
    }
    return bodyLength;
  }

  private void fill() throws IOException {
    while (ahead.size() < concurrency && nextRange < size) {
      boolean budgeted = budget.tryAcquire();
      if (!budgeted && !ahead.isEmpty()) {
        return; // lean: one range at a time
      }
      long from = nextRange;
      long to = Math.min(size, from + (budgeted ? partSize : Math.min(LEAN, partSize))) - 1;
      nextRange = to + 1;
      ahead.add(new Range(CompletableFuture.supplyAsync(() -> {
        try {
          return fetch(from, to);
        } catch (IOException e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      }, executor), budgeted));
    }
  }

  /** Gives the current range's permit back: the caller is done with it. */
  private void dropCurrent() {
    current = null;
    if (currentBudgeted) {
      currentBudgeted = false;
      budget.release();
    }
  }

  private byte[] fetch(long from, long to) throws IOException {
    String what = "read of bytes " + from + "-" + to + " of " + key;
    try {
      return retry.call(Operation.READ, what, () -> {
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> {
          b.bucket(bucket).key(key).range("bytes=" + from + "-" + to);
          if (etag != null) {
            b.ifMatch(etag);
          }
        })) {
          return readExactly(in, to - from + 1, what);
        }
      }, S3Errors::retryable);
    } catch (RuntimeException e) {
      if (S3Errors.is(e, 412, null) || S3Errors.is(e, 404, "NoSuchKey")) {
        throw new StorageException(what + " in " + errors.where() + " failed: the object was"
            + " deleted or replaced while it was read; read it again", e);
      }
      throw errors.translate("read", key, e);
    }
  }

  private boolean advance() throws IOException {
    while (current == null || pos >= current.length) {
      if (closed) {
        throw new IOException("stream of " + key + " is closed");
      }
      dropCurrent();
      fill();
      Range next = ahead.poll();
      if (next == null) {
        return false;
      }
      currentBudgeted = next.budgeted(); // released by dropCurrent, also when the range failed
      try {
        current = next.data().get();
        pos = 0;
      } catch (InterruptedException e) {
        dropCurrent();
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("read of " + key + " was interrupted");
      } catch (ExecutionException e) {
        dropCurrent();
        Throwable c = e.getCause() instanceof java.util.concurrent.CompletionException ce
            ? ce.getCause() : e.getCause();
        if (c instanceof IOException io) {
          throw io;
        }
        throw errors.translate("read", key, c);
      }
    }
    return true;
  }

  @Override
  public int read() throws IOException {
    if (!advance()) {
      return -1;
    }
    return current[pos++] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (!advance()) {
      return -1;
    }
    int n = Math.min(len, current.length - pos);
    System.arraycopy(current, pos, b, off, n);
    pos += n;
    if (pos >= current.length) {
      fill(); // keep the look-ahead running while the caller works on this range
    }
    return n;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Range r : ahead) {
      r.data().cancel(true);
      if (r.budgeted()) {
        budget.release();
      }
    }
    ahead.clear();
    dropCurrent();
  }
}
