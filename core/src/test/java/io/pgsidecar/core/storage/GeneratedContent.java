package io.pgsidecar.core.storage;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * Deterministic pseudo-random content of any length, produced as it is read (no array of that
 * size), with the SHA-256 of what was handed out; optionally failing after {@code failAfter}
 * bytes to play a broken producer.
 */
public final class GeneratedContent extends InputStream {

  private static final int CHUNK = 64 * 1024;

  private final byte[] pattern = new byte[CHUNK];
  private final long length;
  private final long failAfter;
  private final MessageDigest sha256;
  private long position;
  private String digest;

  public GeneratedContent(long seed, long length) {
    this(seed, length, -1);
  }

  public GeneratedContent(long seed, long length, long failAfter) {
    new SplittableRandom(seed).nextBytes(pattern);
    this.length = length;
    this.failAfter = failAfter;
    this.sha256 = newSha256();
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (failAfter >= 0 && position >= failAfter) {
      throw new IOException("boom: producer failed at byte " + position);
    }
    if (position >= length) {
      return -1;
    }
    long limit = failAfter >= 0 ? Math.min(length, failAfter) : length;
    int inChunk = (int) (position % CHUNK);
    int n = (int) Math.min(Math.min(len, CHUNK - inChunk), limit - position);
    // Each chunk differs from the others: its index is mixed into its first bytes.
    System.arraycopy(pattern, inChunk, b, off, n);
    long chunk = position / CHUNK;
    for (int i = 0; i < n && inChunk + i < 8; i++) {
      b[off + i] ^= (byte) (chunk >>> (8 * (inChunk + i)));
    }
    sha256.update(b, off, n);
    position += n;
    return n;
  }

  /** SHA-256 (hex) of the bytes read so far; call once the stream is exhausted. */
  public synchronized String sha256() {
    if (digest == null) {
      digest = HexFormat.of().formatHex(sha256.digest());
    }
    return digest;
  }

  /** SHA-256 (hex) of everything {@code in} yields; closes it. */
  public static String sha256Of(InputStream in) throws IOException {
    MessageDigest md = newSha256();
    try (in) {
      byte[] buffer = new byte[1 << 20];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        md.update(buffer, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
