package io.pgsidecar.testkit;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * A deterministic stream of {@code size} bytes shaped like WAL for codec tests and benchmarks:
 * runs of random bytes (new page images), repeated record text, and zero runs, freshly drawn
 * all along, so zstd's window never finds long repeats (it compresses to roughly 40%, like busy
 * WAL) and nothing is held in memory. The same seed gives the same bytes.
 */
public final class WalLikeData extends InputStream {

  private static final byte[] RECORD = ("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)"
      + " VALUES (7, 1, 41237, -2817, now());\n").getBytes(StandardCharsets.US_ASCII);

  private final SplittableRandom random;
  private final byte[] chunk = new byte[16 * 1024];
  private long remaining;
  private int pos;
  private int end;

  public WalLikeData(long size, long seed) {
    this.remaining = size;
    this.random = new SplittableRandom(seed);
  }

  /** All {@code size} bytes in an array; for small test inputs only. */
  public static byte[] bytes(int size, long seed) {
    byte[] all = new byte[size];
    var in = new WalLikeData(size, seed);
    for (int off = 0; off < size; ) {
      off += in.read(all, off, size - off);
    }
    return all;
  }

  @Override
  public int read() {
    byte[] one = new byte[1];
    return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) {
    if (len == 0) {
      return 0;
    }
    if (pos == end && !fill()) {
      return -1;
    }
    int n = Math.min(len, end - pos);
    System.arraycopy(chunk, pos, b, off, n);
    pos += n;
    return n;
  }

  private boolean fill() {
    if (remaining == 0) {
      return false;
    }
    int len = (int) Math.min(remaining, 512 + random.nextInt(chunk.length - 512));
    switch (random.nextInt(3)) {
      case 0 -> {
        for (int i = 0; i < len; i += 8) { // fresh random page bytes
          long r = random.nextLong();
          for (int j = 0; j < 8 && i + j < len; j++) {
            chunk[i + j] = (byte) (r >>> (8 * j));
          }
        }
      }
      case 1 -> {
        int shift = random.nextInt(RECORD.length);
        for (int i = 0; i < len; i++) {
          chunk[i] = RECORD[(i + shift) % RECORD.length];
        }
      }
      default -> java.util.Arrays.fill(chunk, 0, len, (byte) 0);
    }
    pos = 0;
    end = len;
    remaining -= len;
    return true;
  }
}
