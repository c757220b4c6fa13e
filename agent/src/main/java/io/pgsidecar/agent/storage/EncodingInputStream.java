package io.pgsidecar.agent.storage;

import io.pgsidecar.core.codec.CodecPipeline;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Turns the codec pipeline's push model ({@link CodecPipeline#encode} wraps a sink) into the pull
 * model {@link io.pgsidecar.core.storage.Storage#create} reads from, on the caller's thread: each
 * read pulls one chunk from the source through the encoder and serves what came out. Memory stays
 * at one chunk plus what the codecs emit for it; no pipe thread, no temp file. WAL pushes and
 * dumps store through it; the base backup, whose tar scanner writes, uses a pipe instead.
 */
public final class EncodingInputStream extends InputStream {

  /**
   * Plain bytes pulled per read. 64 KiB, not more: the chunk and the encoder's output buffer live
   * as long as the push (up to five at once under the look-ahead); at 256 KiB each, five pushes
   * held 2.5 MiB, about the whole survivor space of the agent's young generation, and what does
   * not fit there is promoted to the old generation as garbage (bench/README.md, wal-archive.sh,
   * "Fifth session"). zstd works in its own 128 KiB blocks whatever we hand it.
   */
  private static final int CHUNK = 64 * 1024;

  /** Exposes its buffer so encoded bytes are served without another copy. */
  private static final class Buffer extends ByteArrayOutputStream {
    Buffer() {
      super(CHUNK);
    }

    byte[] bytes() {
      return buf;
    }

    int size0() {
      return count;
    }
  }

  private final InputStream source;
  private final Buffer encoded = new Buffer();
  private final OutputStream encoder;
  private final byte[] chunk = new byte[CHUNK];
  private int position;
  private boolean finished;

  public EncodingInputStream(InputStream source, CodecPipeline pipeline) throws IOException {
    this.source = source;
    this.encoder = pipeline.encode(encoded);
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
    while (position >= encoded.size0()) {
      if (finished) {
        return -1;
      }
      encoded.reset();
      position = 0;
      int n = source.read(chunk);
      if (n < 0) {
        finished = true;
        encoder.close();
      } else if (n > 0) {
        encoder.write(chunk, 0, n);
      }
    }
    int n = Math.min(len, encoded.size0() - position);
    System.arraycopy(encoded.bytes(), position, b, off, n);
    position += n;
    return n;
  }

  /** Closes the source; an encoder cut off early is closed too (it may hold native memory). */
  @Override
  public void close() throws IOException {
    try {
      source.close();
    } finally {
      if (!finished) {
        finished = true;
        try {
          encoder.close();
        } catch (IOException | RuntimeException ignored) {
          // the object is abandoned: what the encoder would still emit goes nowhere
        }
      }
    }
  }
}
