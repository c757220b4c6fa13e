package io.pgsidecar.core.codec;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import org.bouncycastle.openpgp.PGPEncryptedData;
import org.bouncycastle.openpgp.PGPException;

/**
 * The plain bytes of an OpenPGP message; at their end it checks the integrity packet (MDC), so a
 * flipped or missing byte fails the last read instead of returning a silently wrong stream. When
 * the MDC's SHA-1 cannot be computed (its {@link BackgroundDigest} thread failed) the read fails
 * too: nothing is ever returned as verified without the digest compared.
 */
final class PgpDecodingStream extends InputStream {
  private final InputStream literal;
  private final PGPEncryptedData encrypted;
  private final String objectKey;
  private boolean verified;

  PgpDecodingStream(InputStream literal, PGPEncryptedData encrypted, String objectKey) {
    this.literal = literal;
    this.encrypted = encrypted;
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
      n = literal.read(b, off, len);
    } catch (EOFException e) {
      throw truncated(e);
    } catch (InterruptedIOException e) {
      throw e; // the reader was interrupted: nothing is known about the object
    } catch (IOException e) {
      BackgroundDigest.Failure failure = digestFailure(e);
      if (failure != null) {
        throw notVerified(failure);
      }
      throw CodecException.damaged(objectKey, "its OpenPGP data is unreadable ("
          + e.getMessage() + ")", e);
    }
    if (n == -1 && !verified) {
      verify();
      verified = true;
    }
    return n;
  }

  private void verify() throws IOException {
    boolean ok;
    try {
      ok = encrypted.verify();
    } catch (EOFException e) {
      throw truncated(e);
    } catch (InterruptedIOException e) {
      throw e;
    } catch (UncheckedIOException e) { // from the digest: its thread failed or we were interrupted
      if (e.getCause() instanceof InterruptedIOException interrupted) {
        throw interrupted;
      }
      throw notVerified(e.getCause());
    } catch (PGPException | IOException e) {
      BackgroundDigest.Failure failure = digestFailure(e);
      if (failure != null) {
        throw notVerified(failure);
      }
      throw CodecException.damaged(objectKey, "the OpenPGP integrity check (MDC) failed ("
          + e.getMessage() + "): it was altered or cut short", e);
    }
    if (!ok) {
      throw CodecException.damaged(objectKey, "the OpenPGP integrity check (MDC) failed: it was"
          + " altered or cut short", null);
    }
  }

  private CodecException notVerified(IOException e) {
    return new CodecException("object " + objectKey + " cannot be verified: computing its OpenPGP"
        + " integrity check (MDC) failed (" + e.getMessage() + "), so what was read is not"
        + " trusted; the object itself may be intact: read it again", e);
  }

  private static BackgroundDigest.Failure digestFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof BackgroundDigest.Failure failure) {
        return failure;
      }
    }
    return null;
  }

  private CodecException truncated(EOFException e) {
    return CodecException.damaged(objectKey, "the OpenPGP stream ends early (truncated)", e);
  }

  @Override
  public int available() throws IOException {
    return literal.available();
  }

  @Override
  public void close() throws IOException {
    literal.close();
  }
}
