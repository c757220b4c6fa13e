package io.pgsidecar.core.storage.azure;

import com.azure.core.util.Context;
import com.azure.storage.blob.BlobClient;
import com.azure.storage.blob.models.BlobErrorCode;
import com.azure.storage.blob.models.BlobRange;
import com.azure.storage.blob.models.BlobRequestConditions;
import com.azure.storage.blob.models.DownloadRetryOptions;
import io.pgsidecar.core.storage.RetryPolicy;
import io.pgsidecar.core.storage.RetryPolicy.Operation;
import io.pgsidecar.core.storage.StorageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;

/**
 * Reads a blob as a stream without holding it whole: ranges of {@code blockSize} are fetched
 * ahead, up to {@code concurrency} at a time, and handed out in order (bounded memory:
 * {@code concurrency + 1} ranges). Each range is a plain ranged GET written straight into its
 * buffer, which measured several times faster than the SDK's {@code openInputStream()}. Every
 * range after the first is pinned to the first one's ETag, so a blob replaced while we read is
 * an error, not a silent mix of two objects.
 */
final class RangedDownload extends InputStream {

  private static final DownloadRetryOptions RETRY = new DownloadRetryOptions().setMaxRetryRequests(5);

  private final BlobClient blob;
  private final String key;
  private final int blockSize;
  private final int concurrency;
  private final ExecutorService executor;
  private final AzureErrors errors;
  private final RetryPolicy retry;
  private final long size;
  private final String etag;
  private final Deque<CompletableFuture<byte[]>> ahead = new ArrayDeque<>();
  private long nextOffset;
  private byte[] current;
  private int position;
  private boolean closed;

  private RangedDownload(BlobClient blob, String key, int blockSize, int concurrency,
      ExecutorService executor, AzureErrors errors, RetryPolicy retry, long size, String etag,
      byte[] first) {
    this.retry = retry;
    this.blob = blob;
    this.key = key;
    this.blockSize = blockSize;
    this.concurrency = concurrency;
    this.executor = executor;
    this.errors = errors;
    this.size = size;
    this.etag = etag;
    this.current = first;
    this.nextOffset = first.length;
    fill();
  }

  /** Fetches the first range; empty when the blob does not exist. */
  static Optional<InputStream> open(BlobClient blob, String key, int blockSize, int concurrency,
      ExecutorService executor, AzureErrors errors, RetryPolicy retry) throws IOException {
    var sink = new BufferSink[1];
    try {
      var response = retry.call(Operation.READ, "open of " + key, () -> {
        sink[0] = new BufferSink(blockSize);
        return blob.downloadStreamWithResponse(sink[0], new BlobRange(0, (long) blockSize),
            RETRY, null, false, null, Context.NONE);
      }, AzureErrors::retryable);
      var headers = response.getDeserializedHeaders();
      long size = totalSize(headers.getContentRange(), sink[0].length());
      byte[] first = sink[0].bytes();
      if (size <= first.length) {
        return Optional.of(new ByteArrayInputStream(first));
      }
      return Optional.of(new RangedDownload(blob, key, blockSize, concurrency, executor, errors,
          retry, size, headers.getETag(), first));
    } catch (RuntimeException e) {
      if (AzureErrors.is(e, 404, BlobErrorCode.BLOB_NOT_FOUND)) {
        return Optional.empty();
      }
      if (AzureErrors.is(e, 416, null)) {
        return Optional.of(InputStream.nullInputStream()); // a range of an empty blob
      }
      throw errors.translate("open", key, e);
    }
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (closed) {
      throw new IOException("stream of " + key + " is closed");
    }
    if (len == 0) {
      return 0;
    }
    while (position == current.length) {
      if (ahead.isEmpty()) {
        return -1;
      }
      current = await(ahead.poll());
      position = 0;
      fill();
    }
    int n = Math.min(len, current.length - position);
    System.arraycopy(current, position, b, off, n);
    position += n;
    return n;
  }

  @Override
  public int available() {
    return current.length - position;
  }

  @Override
  public void close() {
    closed = true;
    ahead.forEach(f -> f.cancel(false));
    ahead.clear();
  }

  private void fill() {
    while (ahead.size() < concurrency && nextOffset < size) {
      long offset = nextOffset;
      long length = Math.min(blockSize, size - offset);
      nextOffset += length;
      ahead.add(CompletableFuture.supplyAsync(() -> range(offset, length), executor));
    }
  }

  private byte[] range(long offset, long length) {
    BufferSink sink;
    try {
      sink = retry.call(Operation.READ, "read of " + key + " at " + offset, () -> {
        var s = new BufferSink((int) length);
        blob.downloadStreamWithResponse(s, new BlobRange(offset, length), RETRY,
            new BlobRequestConditions().setIfMatch(etag), false, null, Context.NONE);
        return s;
      }, AzureErrors::retryable);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    if (sink.length() != length) {
      throw new IllegalStateException("range " + offset + "+" + length + " of " + key
          + " returned " + sink.length() + " bytes");
    }
    return sink.bytes();
  }

  private byte[] await(CompletableFuture<byte[]> f) throws IOException {
    try {
      return f.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (cause instanceof java.io.UncheckedIOException u && u.getCause() != null) {
        cause = u.getCause(); // range() wraps what the retry policy threw
      }
      if (AzureErrors.is(cause, 412, null)) {
        throw new StorageException("open of " + key + ": the object changed while it was read "
            + "(objects are never replaced by pgsidecar: check for another writer)", cause);
      }
      throw errors.translate("read", key, cause);
    }
  }

  /** "bytes 0-8388607/104857600" -> 104857600; without a range header the body is the blob. */
  private static long totalSize(String contentRange, int bodyLength) {
    if (contentRange == null) {
      return bodyLength;
    }
    return Long.parseLong(contentRange.substring(contentRange.lastIndexOf('/') + 1).trim());
  }

  /** An output stream into one preallocated array (no copying growth). */
  private static final class BufferSink extends OutputStream {
    private byte[] buffer;
    private int length;

    BufferSink(int capacity) {
      buffer = new byte[capacity];
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      if (length + len > buffer.length) {
        buffer = java.util.Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + len));
      }
      System.arraycopy(b, off, buffer, length, len);
      length += len;
    }

    int length() {
      return length;
    }

    byte[] bytes() {
      return length == buffer.length ? buffer : java.util.Arrays.copyOf(buffer, length);
    }
  }
}
