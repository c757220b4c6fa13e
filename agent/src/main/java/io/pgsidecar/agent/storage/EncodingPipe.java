package io.pgsidecar.agent.storage;

import io.pgsidecar.core.codec.CodecPipeline;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Turns the push-style codec pipeline ({@link CodecPipeline#encode} wraps an OutputStream) into
 * the pull-style stream {@code Storage.create} reads, without staging the object in memory or on
 * disk: a virtual thread reads the plain input, hashes it (SHA-256 of the plain content, recorded
 * as object metadata) and encodes it into a small bounded queue of chunks that this stream
 * drains. Memory stays at a few chunks whatever the size of the input.
 *
 * <p>The checksum and size are final once this stream has returned end-of-stream, which is when
 * {@code Storage.create} asks for the metadata. Closing early stops the producer.
 */
public final class EncodingPipe extends InputStream {

  private static final int CHUNK = 64 * 1024;
  private static final byte[] EOF = new byte[0];

  private final BlockingQueue<byte[]> chunks = new ArrayBlockingQueue<>(8);
  private final MessageDigest digest = sha256();
  private final Thread producer;
  private volatile IOException failure;
  private volatile boolean closed;
  private volatile long plainSize;
  private volatile String plainSha256;
  private byte[] current = new byte[0];
  private int pos;
  private boolean ended;

  private EncodingPipe(InputStream plain, CodecPipeline pipeline, String what) {
    producer = Thread.ofVirtual().name("encode " + what).start(() -> produce(plain, pipeline));
  }

  /** Starts encoding {@code plain}; {@code what} names the object in the thread name. */
  public static EncodingPipe start(InputStream plain, CodecPipeline pipeline, String what) {
    return new EncodingPipe(plain, pipeline, what);
  }

  /** Hex SHA-256 of the plain input; only valid after end-of-stream. */
  public String plainSha256() {
    if (plainSha256 == null) {
      throw new IllegalStateException("the plain checksum is known only after the whole input was read");
    }
    return plainSha256;
  }

  public long plainSize() {
    return plainSize;
  }

  private void produce(InputStream plain, CodecPipeline pipeline) {
    try (OutputStream encoded = pipeline.encode(new QueueOutput())) {
      byte[] buf = new byte[CHUNK];
      long size = 0;
      int n;
      while ((n = plain.read(buf)) > 0) {
        digest.update(buf, 0, n);
        size += n;
        encoded.write(buf, 0, n);
      }
      plainSize = size;
      plainSha256 = HexFormat.of().formatHex(digest.digest());
    } catch (IOException e) {
      failure = e;
    } catch (RuntimeException e) {
      failure = new IOException("encoding failed: " + e, e);
    } finally {
      try {
        if (failure != null) {
          chunks.clear();
        }
        offer(EOF);
      } catch (IOException ignored) {
        // closed by the reader: nobody is waiting for the end marker
      }
    }
  }

  /** The encoder's sink: copies into the queue, blocking while the reader is behind. */
  private final class QueueOutput extends OutputStream {
    private final byte[] buf = new byte[CHUNK];
    private int len;

    @Override
    public void write(int b) throws IOException {
      if (len == buf.length) {
        flushChunk();
      }
      buf[len++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int n) throws IOException {
      while (n > 0) {
        if (len == buf.length) {
          flushChunk();
        }
        int k = Math.min(n, buf.length - len);
        System.arraycopy(b, off, buf, len, k);
        len += k;
        off += k;
        n -= k;
      }
    }

    private void flushChunk() throws IOException {
      if (len > 0) {
        byte[] copy = new byte[len];
        System.arraycopy(buf, 0, copy, 0, len);
        len = 0;
        offer(copy);
      }
    }

    @Override
    public void close() throws IOException {
      flushChunk();
    }
  }

  private void offer(byte[] chunk) throws IOException {
    try {
      while (!chunks.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
        if (closed) {
          throw new IOException("the reader closed the stream");
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("encoding interrupted");
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
    while (pos == current.length) {
      if (ended) {
        return -1;
      }
      try {
        current = chunks.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while reading the encoded stream");
      }
      pos = 0;
      if (current == EOF) {
        ended = true;
        if (failure != null) {
          throw failure;
        }
        return -1;
      }
    }
    int k = Math.min(len, current.length - pos);
    System.arraycopy(current, pos, b, off, k);
    pos += k;
    return k;
  }

  @Override
  public void close() {
    closed = true;
    chunks.clear();
    if (!ended) {
      producer.interrupt();
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
