package io.pgsidecar.agent.backup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/**
 * Watches a tar stream go by (fed in arbitrary chunks, never buffered) and hands the content of
 * the members it is asked about to a sink. It reads the 512-byte ustar headers pg_basebackup
 * writes, including base-256 sizes of members over 8 GiB, checks every header checksum, and
 * notes the end-of-archive marker so that a truncated stream is caught before it is stored.
 */
final class TarScanner {

  /** Receives one member's content. */
  interface MemberSink {
    void data(byte[] b, int off, int len) throws IOException;

    void end() throws IOException;
  }

  private static final int BLOCK = 512;

  private final Function<String, MemberSink> interest;
  private final byte[] header = new byte[BLOCK];
  private int headerFill;
  private long remaining;
  private long padding;
  private MemberSink sink;
  private int zeroBlocks;
  private boolean ended;
  private long offset;

  /** {@code interest} maps a member name to its sink, or to {@code null} to skip the member. */
  TarScanner(Function<String, MemberSink> interest) {
    this.interest = interest;
  }

  /** True once the two zero blocks that end an archive have passed. */
  boolean complete() {
    return ended;
  }

  void feed(byte[] b, int off, int len) throws IOException {
    int end = off + len;
    while (off < end && !ended) {
      if (remaining > 0) {
        int n = (int) Math.min(remaining, end - off);
        if (sink != null) {
          sink.data(b, off, n);
        }
        remaining -= n;
        off += n;
        offset += n;
        if (remaining == 0 && sink != null) {
          sink.end();
          sink = null;
        }
      } else if (padding > 0) {
        int n = (int) Math.min(padding, end - off);
        padding -= n;
        off += n;
        offset += n;
      } else {
        int n = Math.min(BLOCK - headerFill, end - off);
        System.arraycopy(b, off, header, headerFill, n);
        headerFill += n;
        off += n;
        offset += n;
        if (headerFill == BLOCK) {
          headerFill = 0;
          onHeader();
        }
      }
    }
    offset += end - off; // bytes after the end marker (record padding) are ignored
  }

  private void onHeader() throws IOException {
    if (isZero(header)) {
      ended = ++zeroBlocks == 2;
      return;
    }
    if (zeroBlocks > 0) {
      throw new IOException("tar stream corrupt: data after a zero block at offset " + offset);
    }
    verifyChecksum();
    String name = field(0, 100);
    if (header[257] == 'u' && header[258] == 's' && header[259] == 't' && header[260] == 'a'
        && header[261] == 'r') {
      String prefix = field(345, 155);
      if (!prefix.isEmpty()) {
        name = prefix + "/" + name;
      }
    }
    long size = size();
    byte type = header[156];
    boolean hasData = type == '0' || type == 0 || type == '7' || type == 'x' || type == 'g'
        || type == 'L' || type == 'K';
    remaining = hasData ? size : 0;
    padding = hasData ? (BLOCK - size % BLOCK) % BLOCK : 0;
    if (remaining > 0 && (type == '0' || type == 0)) {
      sink = interest.apply(name);
    } else if (size == 0 && (type == '0' || type == 0)) {
      MemberSink empty = interest.apply(name);
      if (empty != null) {
        empty.end();
      }
    }
  }

  private long size() throws IOException {
    if ((header[124] & 0x80) != 0) {
      long v = header[124] & 0x7F;
      for (int i = 125; i < 136; i++) {
        v = (v << 8) | (header[i] & 0xFF);
      }
      return v;
    }
    String text = field(124, 12).trim();
    try {
      return text.isEmpty() ? 0 : Long.parseLong(text, 8);
    } catch (NumberFormatException e) {
      throw new IOException("tar stream corrupt: bad member size '" + text + "' at offset "
          + (offset - BLOCK));
    }
  }

  private void verifyChecksum() throws IOException {
    long sum = 0;
    for (int i = 0; i < BLOCK; i++) {
      sum += (i >= 148 && i < 156) ? ' ' : (header[i] & 0xFF);
    }
    String stored = field(148, 8).trim();
    long expected;
    try {
      expected = Long.parseLong(stored, 8);
    } catch (NumberFormatException e) {
      expected = -1;
    }
    if (expected != sum) {
      throw new IOException("tar stream corrupt: header checksum mismatch at offset "
          + (offset - BLOCK) + " (stored '" + stored + "', computed " + Long.toOctalString(sum) + ")");
    }
  }

  private String field(int from, int len) {
    int end = from;
    while (end < from + len && header[end] != 0) {
      end++;
    }
    return new String(header, from, end - from, StandardCharsets.UTF_8);
  }

  private static boolean isZero(byte[] block) {
    for (byte x : block) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
