package io.pgsidecar.core.codec;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * Bouncy Castle's generators write their trailers (MDC, final partial packet) on close but never
 * close the sink; this closes literal data, then encryption, then the sink, in that order. A
 * failure to compute the MDC (its digest thread) fails the close with that thread's cause.
 */
final class PgpEncodingStream extends OutputStream {
  private final OutputStream literal;
  private final OutputStream encrypted;
  private final OutputStream sink;
  private boolean closed;

  PgpEncodingStream(OutputStream literal, OutputStream encrypted, OutputStream sink) {
    this.literal = literal;
    this.encrypted = encrypted;
    this.sink = sink;
  }

  @Override
  public void write(int b) throws IOException {
    literal.write(b);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    literal.write(b, off, len);
  }

  @Override
  public void flush() throws IOException {
    literal.flush();
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try (sink) {
      literal.close();
      encrypted.close();
    } catch (UncheckedIOException e) {
      // the MDC's digest thread failed (FastAes.backgroundSha1): the object has no trailer
      throw e.getCause();
    }
  }
}
