package io.pgsidecar.core.restore;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads a tar stream header by header, as {@link TarExtractor} unpacks it: ustar headers (their
 * checksum verified, sizes in octal or GNU base-256), with GNU long-name and long-link records
 * and pax extended headers applied to the entry after them, and global pax headers skipped.
 * Every error names the archive, the header's entry and its byte offset, and says whether the
 * stored backup is truncated or corrupt: a tampered or cut object never reads as a short one.
 *
 * <p>The caller reads each entry's data whole from {@link #data()} before asking for the next
 * entry; {@link #next()} then skips the padding to the next header.
 */
final class TarReader {

  static final int BLOCK = 512;
  /** The largest long-name or pax record accepted (PATH_MAX is 4096; pax times add little). */
  private static final int MAX_RECORD = 1 << 20;

  /**
   * One entry: its tar type flag, its name and link target (long-name and pax records applied),
   * the size of its data, and where its header starts in the archive.
   */
  record Entry(char type, String name, String link, long size, long at) {}

  private final Counting in;
  private final String source;
  private final byte[] header = new byte[BLOCK];
  /** The entry whose data the caller reads now, and where that data starts; null before any. */
  private Entry current;
  private long dataStart;

  /**
   * @param stream the archive
   * @param source names the archive in error messages, e.g. the object key
   */
  TarReader(InputStream stream, String source) {
    this.in = new Counting(stream);
    this.source = source;
  }

  /** The current entry's data: the caller reads exactly its {@link Entry#size()} bytes. */
  InputStream data() {
    return in;
  }

  /** The next entry, its meta records applied; null at the end-of-archive marker. */
  Entry next() throws IOException {
    if (current != null) {
      skipPadding(current);
      current = null;
    }
    // set by the meta records (GNU L and K, pax x) for the next real entry only
    String longName = null;
    String longLink = null;
    long paxSize = -1;
    while (true) {
      long at = in.position;
      int got = readBlock(in, header);
      if (got == 0) {
        throw new EOFException("archive " + source + " ends before its end-of-archive marker"
            + " (after " + at + " bytes): the stored backup is truncated; pick another backup");
      }
      if (got < BLOCK) {
        throw new EOFException("archive " + source + " ends inside the tar header at byte " + at
            + " (" + got + " of " + BLOCK + " bytes): the stored backup is truncated; pick another backup");
      }
      if (isZero(header)) {
        return null; // end of archive: pg_basebackup writes two zero blocks
      }
      String headerName = name(header);
      verifyChecksum(header, headerName, at);
      char type = (char) header[156];
      long size = size(header, headerName, at);
      switch (type) {
        case 'L' -> longName = trimNul(readRecord(in, size, "GNU long name record", headerName, at));
        case 'K' -> longLink = trimNul(readRecord(in, size, "GNU long link name record", headerName, at));
        case 'x' -> {
          Pax pax = pax(readRecord(in, size, "pax extended header", headerName, at), headerName, at);
          longName = pax.path() != null ? pax.path() : longName;
          longLink = pax.linkpath() != null ? pax.linkpath() : longLink;
          paxSize = pax.size() >= 0 ? pax.size() : paxSize;
        }
        case 'g' -> skipExactly(in, padded(size), "global pax header", headerName, at);
        default -> {
          current = new Entry(type, longName != null ? longName : headerName,
              longLink != null ? longLink : cString(header, 157, 100),
              paxSize >= 0 ? paxSize : size, at);
          dataStart = in.position;
          return current;
        }
      }
    }
  }

  /** Skips the padding after {@code e}'s data (which the caller has read) to the next header. */
  private void skipPadding(Entry e) throws IOException {
    long pad = padded(e.size()) - e.size();
    long rest = padded(e.size()) - (in.position - dataStart);
    long left = skip(in, rest);
    if (left > 0) {
      throw new EOFException("archive " + source + " ends inside the padding after entry "
          + show(e.name()) + " (" + (pad - left) + " of " + pad + " bytes): the stored backup is"
          + " truncated");
    }
  }

  /** Reads one block; the number of bytes read, less than a block only at the end of the stream. */
  private static int readBlock(InputStream in, byte[] block) throws IOException {
    int off = 0;
    while (off < BLOCK) {
      int n = in.read(block, off, BLOCK - off);
      if (n < 0) {
        break;
      }
      off += n;
    }
    return off;
  }

  /** The data of a meta record (long name, pax header), with its padding consumed. */
  private byte[] readRecord(InputStream in, long size, String what, String headerName, long at)
      throws IOException {
    if (size > MAX_RECORD) {
      throw new IOException("archive " + source + ": the " + what + " " + show(headerName)
          + " at byte " + at + " holds " + size + " bytes, more than the " + MAX_RECORD
          + " a name needs; the stored backup is corrupt; refusing");
    }
    byte[] b = in.readNBytes((int) size);
    if (b.length != size) {
      throw new EOFException("archive " + source + " ends inside the " + what + " "
          + show(headerName) + " at byte " + at + " (" + b.length + " of " + size
          + " bytes): the stored backup is truncated");
    }
    skipExactly(in, padded(size) - size, what, headerName, at);
    return b;
  }

  /** Skips {@code n} bytes of the record {@code what} whose header is at {@code at}. */
  private void skipExactly(InputStream in, long n, String what, String headerName, long at)
      throws IOException {
    long left = skip(in, n);
    if (left > 0) {
      throw new EOFException("archive " + source + " ends inside the " + what + " "
          + show(headerName) + " at byte " + at + " (" + (n - left) + " of " + n + " bytes):"
          + " the stored backup is truncated");
    }
  }

  /** Skips up to {@code n} bytes; how many were missing at the end of the stream. */
  private static long skip(InputStream in, long n) throws IOException {
    long left = n;
    while (left > 0) {
      long k = in.skip(left);
      if (k <= 0) {
        if (in.read() < 0) {
          break;
        }
        k = 1;
      }
      left -= k;
    }
    return left;
  }

  /** {@code size} rounded up to whole blocks. */
  private static long padded(long size) {
    return (size + BLOCK - 1) / BLOCK * BLOCK;
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private void verifyChecksum(byte[] h, String headerName, long at) throws IOException {
    long stored = octal(h, 148, 8);
    long sum = 0;
    for (int i = 0; i < BLOCK; i++) {
      sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
    }
    if (sum != stored) {
      throw new IOException("archive " + source + ": the tar header at byte " + at + " (entry "
          + show(headerName) + ") does not match its checksum; the stored backup is corrupt;"
          + " pick another backup");
    }
  }

  /**
   * The entry's name: ustar's prefix field joins it only in POSIX headers (magic "ustar\0");
   * GNU headers keep other fields there.
   */
  private static String name(byte[] h) {
    String name = cString(h, 0, 100);
    boolean posix = h[257] == 'u' && h[258] == 's' && h[259] == 't' && h[260] == 'a'
        && h[261] == 'r' && h[262] == 0;
    String prefix = posix ? cString(h, 345, 155) : "";
    return prefix.isEmpty() ? name : prefix + "/" + name;
  }

  private static String cString(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, StandardCharsets.UTF_8);
  }

  private static String trimNul(byte[] b) {
    int end = 0;
    while (end < b.length && b[end] != 0) {
      end++;
    }
    return new String(b, 0, end, StandardCharsets.UTF_8);
  }

  /** The size field: octal, or GNU base-256 for sizes of 8 GiB and more. */
  private long size(byte[] h, String headerName, long at) throws IOException {
    long v;
    if ((h[124] & 0x80) != 0) {
      v = (h[124] & 0x40) != 0 ? -1 : 0; // 0xff...: a negative number
      for (int i = 125; i < 136 && v >= 0; i++) {
        v = v > (Long.MAX_VALUE >> 8) ? -1 : (v << 8) | (h[i] & 0xff);
      }
    } else {
      v = octal(h, 124, 12);
    }
    if (v < 0) {
      throw new IOException("archive " + source + ": the tar header at byte " + at + " (entry "
          + show(headerName) + ") holds a size that is not a number of bytes; the stored backup"
          + " is corrupt; pick another backup");
    }
    return v;
  }

  /** An octal field padded with NULs or spaces; -1 when it holds anything else. */
  private static long octal(byte[] b, int off, int len) {
    long v = 0;
    boolean digits = false;
    for (int i = off; i < off + len; i++) {
      byte c = b[i];
      if (c == 0 || c == ' ') {
        if (digits) {
          break;
        }
        continue;
      }
      if (c < '0' || c > '7') {
        return -1;
      }
      digits = true;
      v = (v << 3) + (c - '0');
    }
    return v;
  }

  /**
   * {@code s} quoted for an error message: control characters escaped, very long names cut,
   * so that a crafted name cannot forge log lines.
   */
  static String show(String s) {
    StringBuilder sb = new StringBuilder("'");
    int limit = Math.min(s.length(), 300);
    for (int i = 0; i < limit; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029) {
        sb.append(String.format("\\x%02X", (int) c));
      } else {
        sb.append(c);
      }
    }
    if (s.length() > limit) {
      sb.append("...' (").append(s.length()).append(" characters)");
      return sb.toString();
    }
    return sb.append('\'').toString();
  }

  /** What a pax extended header sets for the next entry (null, or -1 for the size: not set). */
  private record Pax(String path, String linkpath, long size) {}

  /**
   * Parses "LEN key=value\n" records, where LEN counts the bytes of the whole record in decimal
   * (bytes, not characters: a UTF-8 name has more bytes than characters). Keys other than path,
   * linkpath and size (times, owners, charset) do not matter to a restore.
   */
  private Pax pax(byte[] b, String headerName, long at) throws IOException {
    String path = null;
    String linkpath = null;
    long size = -1;
    int i = 0;
    while (i < b.length) {
      int sp = i;
      long len = 0;
      while (sp < b.length && sp - i < 8 && b[sp] >= '0' && b[sp] <= '9') {
        len = len * 10 + (b[sp] - '0');
        sp++;
      }
      int eq = -1;
      if (sp > i && sp < b.length && b[sp] == ' ' && len > sp - i + 2 && i + len <= b.length
          && b[(int) (i + len - 1)] == '\n') {
        for (int k = sp + 1; k < i + len - 1; k++) {
          if (b[k] == '=') {
            eq = k;
            break;
          }
        }
      }
      if (eq <= sp + 1) {
        throw new IOException("archive " + source + ": the pax extended header " + show(headerName)
            + " at byte " + at + " has a malformed record at its byte " + i + " (expected"
            + " \"LENGTH key=value\\n\"); the stored backup is corrupt; refusing");
      }
      int end = (int) (i + len - 1);
      String key = new String(b, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
      String value = new String(b, eq + 1, end - eq - 1, StandardCharsets.UTF_8);
      switch (key) {
        case "path" -> path = value;
        case "linkpath" -> linkpath = value;
        case "size" -> {
          if (!value.matches("[0-9]{1,18}")) {
            throw new IOException("archive " + source + ": the pax extended header "
                + show(headerName) + " at byte " + at + " gives the size " + show(value)
                + ", not a number of bytes; the stored backup is corrupt; refusing");
          }
          size = Long.parseLong(value);
        }
        default -> { } // not needed to unpack
      }
      i = (int) (i + len);
    }
    return new Pax(path, linkpath, size);
  }

  /** Counts the bytes consumed, so that errors can say where in the archive they are. */
  private static final class Counting extends FilterInputStream {
    long position;

    Counting(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        position++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        position += n;
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      long k = super.skip(n);
      if (k > 0) {
        position += k;
      }
      return k;
    }
  }
}
