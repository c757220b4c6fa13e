package io.pgsidecar.core.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A pipe between two threads holding at most {@code chunks} chunks of {@code chunkSize} bytes,
 * so that two CPU-heavy stages of one stream run on two cores: a backup's encoder writes into
 * {@link #sink()} while the storage upload reads {@link #source()}; a restore's decoder writes
 * while the tar extractor reads. Memory stays constant whatever the backup size. Either side can
 * fail the pipe; the other side then gets an {@link IOException} instead of blocking forever or
 * seeing a clean end of stream (a clean end would let storage commit a truncated object, or a
 * restore take a short tar for a whole one). Its messages speak of the backup stream (the agent
 * matches "storage stopped reading"); a restore reports the first side's own error instead.
 *
 * <p>Full chunks go back to the writer once read: the pipe allocates about {@code chunks + 2}
 * arrays for a whole backup instead of one per chunk (a 1 MiB array is a "humongous" object for
 * G1 on a small heap, each one taking whole regions and prompting collections).
 */
public final class BoundedPipe {

  private static final byte[] EOF = new byte[0];

  private final ArrayBlockingQueue<byte[]> queue;
  private final ArrayBlockingQueue<byte[]> free;
  private final int chunkSize;
  private volatile Throwable writerFailure;
  private volatile Throwable readerFailure;
  private final Sink sink;
  private final Source source;

  public BoundedPipe(int chunkSize, int chunks) {
    this.chunkSize = chunkSize;
    this.queue = new ArrayBlockingQueue<>(chunks + 1);
    this.free = new ArrayBlockingQueue<>(chunks + 2);
    this.sink = new Sink();
    this.source = new Source();
  }

  public OutputStream sink() {
    return sink;
  }

  public InputStream source() {
    return source;
  }

  /** The writer gives up: the reader's next read throws (its storage create then fails). */
  public void failWriter(Throwable cause) {
    writerFailure = cause;
    queue.clear();
    queue.offer(EOF);
  }

  /** The reader gives up: the writer's next write throws. */
  public void failReader(Throwable cause) {
    readerFailure = cause;
    queue.clear();
  }

  private final class Sink extends OutputStream {
    private byte[] buf = new byte[chunkSize];
    private int fill;
    private boolean closed;

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      while (len > 0) {
        int n = Math.min(len, chunkSize - fill);
        System.arraycopy(b, off, buf, fill, n);
        fill += n;
        off += n;
        len -= n;
        if (fill == chunkSize) {
          push(buf);
          byte[] recycled = free.poll();
          buf = recycled != null ? recycled : new byte[chunkSize];
          fill = 0;
        }
      }
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      if (fill > 0) {
        push(java.util.Arrays.copyOf(buf, fill));
      }
      push(EOF);
    }

    private void push(byte[] chunk) throws IOException {
      if (writerFailure != null) {
        throw new IOException("backup stream already aborted", writerFailure);
      }
      try {
        while (!queue.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
          checkReader();
        }
        checkReader();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("backup stream interrupted");
      }
    }

    private void checkReader() throws IOException {
      Throwable t = readerFailure;
      if (t != null) {
        throw new IOException("storage stopped reading the backup stream: " + t.getMessage(), t);
      }
    }
  }

  private final class Source extends InputStream {
    private byte[] chunk;
    private int pos;
    private boolean eof;

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      while (chunk == null || pos == chunk.length) {
        if (eof) {
          checkWriter();
          return -1;
        }
        if (chunk != null && chunk.length == chunkSize) {
          free.offer(chunk); // fully read: the writer may fill it again
        }
        chunk = null;
        try {
          chunk = queue.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("backup stream interrupted");
        }
        pos = 0;
        checkWriter();
        if (chunk == EOF) {
          eof = true;
        }
      }
      int n = Math.min(len, chunk.length - pos);
      System.arraycopy(chunk, pos, b, off, n);
      pos += n;
      return n;
    }

    private void checkWriter() throws IOException {
      Throwable t = writerFailure;
      if (t != null) {
        throw new IOException("backup stream aborted: " + t.getMessage(), t);
      }
    }
  }
}
