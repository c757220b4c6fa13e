package io.pgsidecar.core.restore;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Writes ustar archives byte by byte, including the malicious ones a real tar refuses to make. */
public final class TarBuilder {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final List<Integer> headers = new ArrayList<>();

  public TarBuilder file(String name, String content) {
    return file(name, content.getBytes(StandardCharsets.UTF_8));
  }

  public TarBuilder file(String name, byte[] content) {
    header(name, '0', content.length, "");
    out.writeBytes(content);
    pad(content.length);
    return this;
  }

  public TarBuilder dir(String name) {
    header(name, '5', 0, "");
    return this;
  }

  public TarBuilder symlink(String name, String target) {
    header(name, '2', 0, target);
    return this;
  }

  public TarBuilder hardLink(String name, String target) {
    header(name, '1', 0, target);
    return this;
  }

  public TarBuilder paxPath(String path) {
    return pax('x', Map.of("path", path));
  }

  /**
   * A pax extended ({@code x}) or global ({@code g}) header; each record's length counts its
   * bytes, as POSIX says (a multi-byte UTF-8 value has more bytes than characters).
   */
  public TarBuilder pax(char type, Map<String, String> records) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    records.forEach((k, v) -> body.writeBytes(paxRecord(k, v)));
    return record(type == 'g' ? "pax_global_header" : "././@PaxHeader", type, body.toByteArray());
  }

  public static byte[] paxRecord(String key, String value) {
    int rest = (" " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8).length;
    int len = rest + 1;
    while (Integer.toString(len).length() + rest != len) {
      len++;
    }
    return (len + " " + key + "=" + value + "\n").getBytes(StandardCharsets.UTF_8);
  }

  /** A GNU long name ({@code L}) or long link name ({@code K}) record for the next entry. */
  public TarBuilder gnuLong(char type, String name) {
    byte[] b = (name + "\0").getBytes(StandardCharsets.UTF_8);
    return record("././@LongLink", type, b);
  }

  /** A header of {@code type} followed by {@code body} as its data, padded to a block. */
  public TarBuilder record(String name, char type, byte[] body) {
    header(name, type, body.length, "");
    out.writeBytes(body);
    pad(body.length);
    return this;
  }

  /** A regular file whose name is split into ustar's prefix and name fields at a '/'. */
  public TarBuilder fileWithPrefix(String prefix, String name, byte[] content) {
    byte[] h = headerBytes(name, '0', content.length, "");
    put(h, 345, prefix, 155);
    checksum(h);
    headers.add(out.size());
    out.writeBytes(h);
    out.writeBytes(content);
    pad(content.length);
    return this;
  }

  /** A header whose size field is GNU base-256 with these 12 bytes (the first has bit 7 set). */
  public TarBuilder base256Size(String name, char type, byte[] size12) {
    byte[] h = headerBytes(name, type, 0, "");
    System.arraycopy(size12, 0, h, 124, 12);
    checksum(h);
    headers.add(out.size());
    out.writeBytes(h);
    return this;
  }

  public byte[] end() {
    out.writeBytes(new byte[1024]);
    return out.toByteArray();
  }

  /** Without the end-of-archive blocks, as a truncated object would be. */
  public byte[] truncated() {
    return out.toByteArray();
  }

  /** Where each header block starts, for tests that damage a header and fix its checksum. */
  public List<Integer> headerOffsets() {
    return List.copyOf(headers);
  }

  private void header(String name, char type, long size, String link) {
    headers.add(out.size());
    out.writeBytes(headerBytes(name, type, size, link));
  }

  private static byte[] headerBytes(String name, char type, long size, String link) {
    byte[] h = new byte[512];
    put(h, 0, name, 100);
    put(h, 100, "0000600", 8);
    put(h, 108, "0000000", 8);
    put(h, 116, "0000000", 8);
    put(h, 124, String.format("%011o", size), 12);
    put(h, 136, "00000000000", 12);
    h[156] = (byte) type;
    put(h, 157, link, 100);
    put(h, 257, "ustar", 6);
    put(h, 263, "00", 2);
    checksum(h);
    return h;
  }

  /** Recomputes the checksum of the header block {@code h} at {@code off} of {@code tar}. */
  public static void checksum(byte[] tar, int off) {
    byte[] h = java.util.Arrays.copyOfRange(tar, off, off + 512);
    checksum(h);
    System.arraycopy(h, 148, tar, off + 148, 8);
  }

  private static void checksum(byte[] h) {
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    long sum = 0;
    for (byte x : h) {
      sum += x & 0xff;
    }
    put(h, 148, String.format("%06o", sum), 7);
    h[154] = 0;
    h[155] = ' ';
  }

  private void pad(int len) {
    int p = (512 - len % 512) % 512;
    out.writeBytes(new byte[p]);
  }

  private static void put(byte[] h, int off, String s, int max) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(b, 0, h, off, Math.min(b.length, max));
  }
}
