package io.pgsidecar.agent.backup;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicLong;

/** Counts and SHA-256-hashes the bytes storage reads, i.e. the stored form of the data. */
final class HashingInputStream extends FilterInputStream {

  private final MessageDigest digest = sha256();
  private final AtomicLong count;

  HashingInputStream(InputStream in, AtomicLong count) {
    super(in);
    this.count = count;
  }

  @Override
  public int read() throws IOException {
    int b = super.read();
    if (b >= 0) {
      digest.update((byte) b);
      count.incrementAndGet();
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = super.read(b, off, len);
    if (n > 0) {
      digest.update(b, off, n);
      count.addAndGet(n);
    }
    return n;
  }

  @Override
  public long skip(long n) {
    return 0; // every byte must pass through the digest
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  String sha256Hex() {
    return HexFormat.of().formatHex(digest.digest());
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
