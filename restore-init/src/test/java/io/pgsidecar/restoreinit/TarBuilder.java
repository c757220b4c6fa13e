package io.pgsidecar.restoreinit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes ustar archives byte by byte, including the malicious ones a real tar refuses to make. */
final class TarBuilder {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  TarBuilder file(String name, String content) {
    byte[] b = content.getBytes(StandardCharsets.UTF_8);
    header(name, '0', b.length, "");
    out.writeBytes(b);
    pad(b.length);
    return this;
  }

  TarBuilder dir(String name) {
    header(name, '5', 0, "");
    return this;
  }

  TarBuilder symlink(String name, String target) {
    header(name, '2', 0, target);
    return this;
  }

  TarBuilder hardLink(String name, String target) {
    header(name, '1', 0, target);
    return this;
  }

  TarBuilder paxPath(String path) {
    String rec = " path=" + path + "\n";
    int len = rec.length();
    len += Integer.toString(len + Integer.toString(len).length()).length();
    String body = len + rec;
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    header("././@PaxHeader", 'x', b.length, "");
    out.writeBytes(b);
    pad(b.length);
    return this;
  }

  byte[] end() {
    out.writeBytes(new byte[1024]);
    return out.toByteArray();
  }

  /** Without the end-of-archive blocks, as a truncated object would be. */
  byte[] truncated() {
    return out.toByteArray();
  }

  private void header(String name, char type, long size, String link) {
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
    out.writeBytes(h);
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
