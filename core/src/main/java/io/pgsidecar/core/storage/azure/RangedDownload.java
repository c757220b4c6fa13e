package io.pgsidecar.core.storage.azure;

import com.azure.core.util.Context;
import com.azure.storage.blob.BlobClient;
import com.azure.storage.blob.models.BlobDownloadResponse;
import com.azure.storage.blob.models.BlobErrorCode;
import com.azure.storage.blob.models.BlobRange;
import com.azure.storage.blob.models.BlobRequestConditions;
import com.azure.storage.blob.models.DownloadRetryOptions;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.retry.RetryPolicy.Operation;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;

/**
 * Reads a blob as a stream without holding it whole: ranges are fetched ahead, up to
 * {@code concurrency} at a time, each a plain ranged GET written straight into its buffer (which
 * measured several times faster than the SDK's {@code openInputStream()}), and handed out in
 * order. Every range after the first is pinned to the first one's ETag, so a blob replaced while
 * we read is an error, not a silent mix of two objects.
 *
 * <p>Memory: range buffers come from the storage's one {@link ReadBuffers} budget, shared by all
 * its streams, and are never waited for. A stream schedules a range ahead only when a buffer is
 * free; when it needs the next bytes and none is free, it reads the next lean-sized piece itself
 * into its own small buffer. So reads of any number of streams hold at most the budget plus one
 * lean buffer each, and a stream never waits on another (issue 14: four prefetches with their own
 * read-ahead ran the agent out of an 80 MiB heap).
 */
final class RangedDownload extends InputStream {

  private static final DownloadRetryOptions RETRY = new DownloadRetryOptions().setMaxRetryRequests(5);

  private final BlobClient blob;
  private final String key;
  private final int concurrency;
  private final ExecutorService executor;
  private final AzureErrors errors;
  private final RetryPolicy retry;
  private final ReadBuffers buffers;
  private final long size;
  private final String etag;
  private final Object lock = new Object();
  // guarded by lock: the ranges fetched ahead (in order), the one being read, where the next starts
  private final Deque<Range> ahead = new ArrayDeque<>();
  private Range current;
  private int position;
  private long nextOffset;
  private byte[] lean;
  private boolean closed;
  /** Completed by {@link #close()}: wakes a reader waiting for a range. */
  private final CompletableFuture<Void> closing = new CompletableFuture<>();

  /** A range of the blob and the buffer it is (being) fetched into. */
  private static final class Range {
    final long offset;
    final int length;
    final boolean pooled;
    byte[] buffer;
    CompletableFuture<Range> fetched;

    Range(long offset, int length, byte[] buffer, boolean pooled) {
      this.offset = offset;
      this.length = length;
      this.buffer = buffer;
      this.pooled = pooled;
    }
  }

  private RangedDownload(BlobClient blob, String key, int concurrency, ExecutorService executor,
      AzureErrors errors, RetryPolicy retry, ReadBuffers buffers, long size, String etag,
      Range first, byte[] lean) {
    this.blob = blob;
    this.key = key;
    this.concurrency = concurrency;
    this.executor = executor;
    this.errors = errors;
    this.retry = retry;
    this.buffers = buffers;
    this.size = size;
    this.etag = etag;
    this.current = first;
    this.lean = lean;
    this.nextOffset = first.length;
    synchronized (lock) {
      fill(); // the next ranges are under way while the first is read
    }
  }

  /** Fetches the first range; empty when the blob does not exist. */
  static Optional<InputStream> open(BlobClient blob, String key, int concurrency,
      ExecutorService executor, AzureErrors errors, RetryPolicy retry, ReadBuffers buffers)
      throws IOException {
    byte[] pooled = buffers.tryTake();
    byte[] buffer = pooled != null ? pooled : buffers.lean();
    Range first = new Range(0, buffer.length, buffer, pooled != null);
    boolean done = false;
    try {
      var fetched = fetch(blob, key, retry, first, null);
      var headers = fetched.response().getDeserializedHeaders();
      long size = totalSize(headers.getContentRange(), fetched.length());
      Range got = new Range(0, fetched.length(), first.buffer, first.pooled);
      done = true;
      return Optional.of(new RangedDownload(blob, key, concurrency, executor, errors, retry,
          buffers, size, headers.getETag(), got, first.pooled ? null : first.buffer));
    } catch (RuntimeException e) {
      if (AzureErrors.is(e, 404, BlobErrorCode.BLOB_NOT_FOUND)) {
        return Optional.empty();
      }
      if (AzureErrors.is(e, 416, null)) {
        return Optional.of(InputStream.nullInputStream()); // a range of an empty blob
      }
      throw errors.translate("open", key, e);
    } finally {
      if (!done && first.pooled) {
        release(buffers, first, false);
      } else if (!done) {
        buffers.leanDone(first.buffer);
      }
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
    if (len == 0) {
      return 0;
    }
    while (true) {
      Range next;
      synchronized (lock) {
        ensureOpen();
        if (current != null && position < current.length) {
          int n = Math.min(len, current.length - position);
          System.arraycopy(current.buffer, position, b, off, n);
          position += n;
          return n;
        }
        if (current != null) {
          release(buffers, current, true);
          current = null;
        }
        if (ahead.isEmpty() && nextOffset >= size) {
          dropLean();
          return -1;
        }
        fill();
        next = ahead.peekFirst();
        if (next == null) {
          // no buffer is free: the next piece through this stream's own lean buffer
          next = new Range(nextOffset, (int) Math.min(lean().length, size - nextOffset), lean, false);
          nextOffset += next.length;
        }
      }
      Range got;
      try {
        got = next.fetched != null ? await(next) : fetchLean(next);
      } catch (IOException e) {
        if (next.pooled) {
          synchronized (lock) {
            if (!closed && ahead.remove(next)) {
              release(buffers, next, false); // its request failed: the buffer is not kept
            }
          }
        }
        throw e;
      }
      synchronized (lock) {
        if (closed) {
          throw new IOException("stream of " + key + " is closed");
        }
        if (got.pooled) {
          ahead.pollFirst();
        }
        current = got;
        position = 0;
        fill();
      }
    }
  }

  @Override
  public int available() {
    synchronized (lock) {
      return current == null ? 0 : current.length - position;
    }
  }

  /**
   * Stops the stream; also from another thread (a stall guard), which wakes a reader waiting for
   * a range. Buffers of ranges still being fetched go back to the budget when their request ends.
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      // a range's buffer goes back only once its request has ended: until then the HTTP
      // client may write into it, and the budget must count it
      for (Range r : ahead) {
        r.fetched.whenComplete((v, e) -> release(buffers, r, e == null));
      }
      ahead.clear();
      closing.complete(null);
      if (current != null) {
        release(buffers, current, true);
        current = null;
      }
      dropLean();
    }
  }

  private void ensureOpen() throws IOException {
    if (closed) {
      throw new IOException("stream of " + key + " is closed");
    }
  }

  /** Schedules ranges ahead while buffers are free (never waits for one). */
  private void fill() {
    while (ahead.size() < concurrency && nextOffset < size) {
      byte[] buffer = buffers.tryTake();
      if (buffer == null) {
        return;
      }
      Range r = new Range(nextOffset, (int) Math.min(buffer.length, size - nextOffset), buffer, true);
      nextOffset += r.length;
      r.fetched = CompletableFuture.supplyAsync(() -> {
        try {
          fetch(blob, key, retry, r, etag);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        return r;
      }, executor);
      ahead.add(r);
    }
  }

  private byte[] lean() {
    if (lean == null) {
      lean = buffers.lean();
    }
    return lean;
  }

  private void dropLean() {
    if (lean != null) {
      buffers.leanDone(lean);
      lean = null;
    }
  }

  private Range fetchLean(Range r) throws IOException {
    try {
      fetch(blob, key, retry, r, etag);
      synchronized (lock) {
        if (!closed) {
          lean = r.buffer; // a failed try may have replaced it
        }
      }
      return r;
    } catch (RuntimeException e) {
      throw failure(e);
    }
  }

  private Range await(Range r) throws IOException {
    try {
      CompletableFuture.anyOf(r.fetched, closing).join();
      if (!r.fetched.isDone()) {
        throw new IOException("stream of " + key + " is closed");
      }
      return r.fetched.join();
    } catch (CompletionException e) {
      throw failure(e.getCause() == null ? e : e.getCause());
    }
  }

  private IOException failure(Throwable cause) {
    if (cause instanceof UncheckedIOException u && u.getCause() != null) {
      cause = u.getCause(); // fetch() wraps what the retry policy threw
    }
    if (AzureErrors.is(cause, 412, null)) {
      return new StorageException("open of " + key + ": the object changed while it was read "
          + "(objects are never replaced by pgsidecar: check for another writer)", cause);
    }
    return errors.translate("read", key, cause);
  }

  private record Fetched(BlobDownloadResponse response, int length) {}

  /**
   * GETs {@code r} into its buffer (retried by the one retry layer). A failed try may still be
   * written to by the HTTP client, so the next try gets a fresh buffer and the old is dropped.
   */
  private static Fetched fetch(BlobClient blob, String key, RetryPolicy retry, Range r,
      String etag) throws IOException {
    return retry.call(Operation.READ, (etag == null ? "open of " : "read of ") + key
          + (r.offset == 0 ? "" : " at " + r.offset), () -> {
            var sink = new BufferSink(r.buffer, r.length);
            try {
              var response = blob.downloadStreamWithResponse(sink, new BlobRange(r.offset,
                  (long) r.length), RETRY, etag == null ? null : new BlobRequestConditions()
                      .setIfMatch(etag), false, null, Context.NONE);
              sink.finish();
              if (etag != null && sink.length() != r.length) {
                throw new IllegalStateException("range " + r.offset + "+" + r.length + " of " + key
                    + " returned " + sink.length() + " bytes");
              }
              return new Fetched(response, sink.length());
            } catch (RuntimeException e) {
              sink.finish();
              r.buffer = new byte[r.buffer.length]; // same size: the budget's count stays right
              throw e;
            }
          }, AzureErrors::retryable);
  }

  /** Gives {@code r}'s buffer back to the budget (kept when its request was answered). */
  private static void release(ReadBuffers buffers, Range r, boolean answered) {
    if (!r.pooled) {
      return;
    }
    if (answered) {
      buffers.give(r.buffer);
    } else {
      buffers.drop(r.buffer);
    }
  }

  /** "bytes 0-8388607/104857600" -> 104857600; without a range header the body is the blob. */
  private static long totalSize(String contentRange, int bodyLength) {
    if (contentRange == null) {
      return bodyLength;
    }
    return Long.parseLong(contentRange.substring(contentRange.lastIndexOf('/') + 1).trim());
  }

  /**
   * An output stream into a fixed buffer: a body longer than the range asked for is an error,
   * and writes after {@link #finish()} (a late write of an abandoned try) are refused.
   */
  private static final class BufferSink extends OutputStream {
    private final byte[] buffer;
    private final int capacity;
    private int length;
    private volatile boolean finished;

    BufferSink(byte[] buffer, int capacity) {
      this.buffer = buffer;
      this.capacity = capacity;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (finished) {
        throw new IOException("late write into an abandoned range");
      }
      if (length + len > capacity) {
        throw new IOException("the service sent more than the " + capacity + " bytes asked for");
      }
      System.arraycopy(b, off, buffer, length, len);
      length += len;
    }

    void finish() {
      finished = true;
    }

    int length() {
      return length;
    }
  }
}
