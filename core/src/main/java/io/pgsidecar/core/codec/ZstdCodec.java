package io.pgsidecar.core.codec;

import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * zstd compression (the only class that touches zstd-jni). Frames carry their content checksum,
 * so a flipped byte fails the read; {@code workers > 0} lets zstd compress large streams on that
 * many extra threads. Decoding refuses a frame that ends early: zstd-jni's stream alone may
 * report a clean end of stream there, which would hand a short segment to PostgreSQL.
 */
public final class ZstdCodec implements Codec {

  public static final String NAME = "zstd";

  /** Bytes of input per job when zstd compresses with workers. */
  static final int MT_JOB_SIZE = 2 << 20;

  private final int level;
  private final int workers;

  public ZstdCodec(int level, int workers) {
    if (level < Zstd.minCompressionLevel() || level > Zstd.maxCompressionLevel()) {
      throw new IllegalArgumentException("compression.level " + level + " is out of range: use "
          + Zstd.minCompressionLevel() + ".." + Zstd.maxCompressionLevel() + " (1 to 3 for WAL)");
    }
    if (workers < 0) {
      throw new IllegalArgumentException("compression.workers " + workers + " is negative: use 0"
          + " (compress on the calling thread) or the number of extra threads");
    }
    this.level = level;
    this.workers = workers;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String suffix() {
    return "zst";
  }

  public int level() {
    return level;
  }

  public int workers() {
    return workers;
  }

  @Override
  public OutputStream encoder(OutputStream sink) throws IOException {
    var out = new ZstdOutputStreamNoFinalizer(sink, RecyclingBufferPool.INSTANCE);
    out.setLevel(level);
    out.setChecksum(true);
    if (workers > 0) {
      out.setWorkers(workers);
      // zstd's default job at level 3 is 8 MiB, and it keeps several jobs' input and output
      // buffers per stream: about 50 MiB outside the heap with 2 workers. 2 MiB jobs kept it to
      // about 15 MiB for 0.5 % more output and no loss of speed (measured, 2 workers, level 3).
      out.setJobSize(MT_JOB_SIZE);
    }
    return out;
  }

  @Override
  public InputStream decoder(InputStream source) throws IOException {
    return decoder(source, "(unnamed)");
  }

  @Override
  public InputStream decoder(InputStream source, String objectKey) throws IOException {
    var counted = new CountingInputStream(source);
    var zstd = new ZstdInputStreamNoFinalizer(counted, RecyclingBufferPool.INSTANCE);
    // Continuous mode off: an unfinished frame at end of input is an error, not EOF.
    zstd.setContinuous(false);
    return new CheckedStream(zstd, counted, objectKey);
  }

  @Override
  public String toString() {
    return "ZstdCodec[level=" + level + ", workers=" + workers + "]";
  }

  /** Turns zstd-jni's terse errors into ones naming the object, and checks the end of input. */
  private static final class CheckedStream extends InputStream {
    private final InputStream in;
    private final CountingInputStream source;
    private final String objectKey;
    private boolean ended;

    CheckedStream(InputStream zstd, CountingInputStream source, String objectKey) {
      this.in = zstd;
      this.source = source;
      this.objectKey = objectKey;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n == -1 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      int n;
      try {
        n = in.read(b, off, len);
      } catch (CodecException e) {
        throw e; // an inner codec already named the object
      } catch (ZstdException | com.github.luben.zstd.ZstdIOException e) {
        throw damaged(e);
      }
      if (n == -1 && !ended) {
        ended = true;
        checkEnd();
      }
      return n;
    }

    private CodecException damaged(Exception e) {
      String msg = String.valueOf(e.getMessage());
      String detail = msg.toLowerCase(java.util.Locale.ROOT).contains("truncated")
          ? "the zstd frame ends early after " + source.count + " stored bytes (truncated)"
          : "zstd data check failed (" + msg + ")";
      return CodecException.damaged(objectKey, detail, e);
    }

    /** Every object we write is at least one whole frame; an empty one was cut to nothing. */
    private void checkEnd() throws IOException {
      if (source.count == 0) {
        throw CodecException.damaged(objectKey, "it is empty, not even a zstd frame header"
            + " (truncated)", null);
      }
    }

    @Override
    public int available() throws IOException {
      return in.available();
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  /** Counts the compressed bytes read, for the end-of-input check and error messages. */
  private static final class CountingInputStream extends FilterInputStream {
    long count;

    CountingInputStream(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int c = in.read();
      if (c >= 0) {
        count++;
      }
      return c;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = in.read(b, off, len);
      if (n > 0) {
        count += n;
      }
      return n;
    }
  }
}
