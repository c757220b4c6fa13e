package io.pgsidecar.core.io;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.LongConsumer;

/**
 * Counts and hashes (SHA-256) the bytes read through it: the plain content on its way into the
 * encoder (WAL, pg_dump output), the stored form on its way to storage (a base backup's data
 * object), or what a decoder produced on the way out. The checksums recorded at store time must
 * match those computed at restore for a restore to be trusted. Skipping reads through, so every
 * byte passes the digest.
 */
public final class DigestingInputStream extends FilterInputStream {

  private final MessageDigest sha256 = sha256();
  private final LongConsumer progress;
  private long size;

  public DigestingInputStream(InputStream in) {
    this(in, n -> {});
  }

  /** {@code progress} is told every count of bytes read (e.g. a backup's stored-bytes counter). */
  public DigestingInputStream(InputStream in, LongConsumer progress) {
    super(in);
    this.progress = progress;
  }

  /** A fresh SHA-256 digest. */
  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  @Override
  public int read() throws IOException {
    int b = in.read();
    if (b >= 0) {
      sha256.update((byte) b);
      size++;
      progress.accept(1);
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n > 0) {
      sha256.update(b, off, n);
      size += n;
      progress.accept(n);
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    byte[] buf = new byte[8192];
    long skipped = 0;
    while (skipped < n) {
      int r = read(buf, 0, (int) Math.min(buf.length, n - skipped));
      if (r < 0) {
        break;
      }
      skipped += r;
    }
    return skipped;
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  public long size() {
    return size;
  }

  /** Hex SHA-256 of everything read so far; call once, at the end. */
  public String sha256Hex() {
    return HexFormat.of().formatHex(sha256.digest());
  }
}
