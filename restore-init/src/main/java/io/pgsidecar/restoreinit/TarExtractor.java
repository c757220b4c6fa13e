package io.pgsidecar.restoreinit;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Unpacks the tar stream pg_basebackup writes ({@code -Ft}: ustar, with pax or GNU long-name
 * records when a path is long) into a data directory, as it streams past: nothing is staged.
 *
 * <p>Tar-slip protection: an entry whose name is absolute, contains {@code ..}, or would land
 * outside the target through a symlink is refused, and so is a symlink or hard link whose
 * target points outside. The archive comes from our own repository, but a restore must not
 * trust it: a tampered object must not be able to write {@code /etc/passwd}.
 *
 * <p>Modes follow what PostgreSQL wants: directories 0700, files 0600 (the tar's own modes are
 * ignored, so a restore into a volume never widens access).
 */
public final class TarExtractor {

  private static final int BLOCK = 512;
  private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");

  /** What was unpacked. */
  public record Result(long files, long bytes) {}

  private final Path target;
  private final String source;
  private long files;
  private long bytes;

  /**
   * @param target the data directory (must exist)
   * @param source names the archive in error messages, e.g. the object key
   */
  public TarExtractor(Path target, String source) {
    this.target = target.toAbsolutePath().normalize();
    this.source = source;
  }

  public Result extract(InputStream in) throws IOException {
    byte[] header = new byte[BLOCK];
    String longName = null;
    String longLink = null;
    while (true) {
      if (!readBlock(in, header)) {
        throw new EOFException("archive " + source + " ends before its end-of-archive marker:"
            + " the stored backup is truncated; pick another backup");
      }
      if (isZero(header)) {
        break; // end of archive: pg_basebackup writes two zero blocks
      }
      verifyChecksum(header);
      char type = (char) header[156];
      long size = parseOctal(header, 124, 12);
      String name = longName != null ? longName : name(header);
      String link = longLink != null ? longLink : cString(header, 157, 100);
      longName = null;
      longLink = null;
      switch (type) {
        case 'L' -> longName = trimNul(readString(in, size));
        case 'K' -> longLink = trimNul(readString(in, size));
        case 'x' -> {
          String[] pax = pax(readString(in, size));
          longName = pax[0];
          longLink = pax[1];
        }
        case 'g' -> skip(in, size);
        case '0', '\0', '7' -> writeFile(in, name, size);
        case '5' -> Files.createDirectories(safe(name));
        case '2' -> symlink(name, link);
        case '1' -> hardLink(name, link);
        default -> throw new IOException("archive " + source + ": entry '" + name
            + "' has tar type '" + type + "' which a PostgreSQL backup never contains; refusing");
      }
    }
    return new Result(files, bytes);
  }

  private void writeFile(InputStream in, String name, long size) throws IOException {
    Path p = safe(name);
    Files.createDirectories(p.getParent());
    setMode(p.getParent(), DIR_MODE);
    try (OutputStream out = Files.newOutputStream(p, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE)) {
      copyExactly(in, out, size, name);
    }
    setMode(p, FILE_MODE);
    skipPadding(in, size);
    files++;
    bytes += size;
  }

  private void symlink(String name, String link) throws IOException {
    Path p = safe(name);
    Path resolved = p.getParent().resolve(link).normalize();
    if (Path.of(link).isAbsolute() || !resolved.startsWith(target)) {
      throw new IOException("archive " + source + ": symlink '" + name + "' points to '" + link
          + "', outside the data directory; refusing (tablespaces are not supported yet)");
    }
    Files.createDirectories(p.getParent());
    Files.createSymbolicLink(p, Path.of(link));
  }

  private void hardLink(String name, String link) throws IOException {
    Path p = safe(name);
    Path existing = safe(link);
    Files.createDirectories(p.getParent());
    Files.createLink(p, existing);
  }

  /** Resolves an entry name inside the target, refusing anything that could escape it. */
  Path safe(String name) throws IOException {
    String n = name.startsWith("./") ? name.substring(2) : name;
    if (n.isEmpty() || n.startsWith("/") || n.contains("\0")) {
      throw new IOException("archive " + source + ": entry name '" + name
          + "' is absolute or empty; refusing to unpack it");
    }
    for (String part : n.split("/")) {
      if (part.equals("..")) {
        throw new IOException("archive " + source + ": entry name '" + name
            + "' contains '..'; refusing to unpack it");
      }
    }
    Path p = target.resolve(n).normalize();
    if (!p.startsWith(target)) {
      throw new IOException("archive " + source + ": entry '" + name
          + "' resolves outside the data directory; refusing");
    }
    // A symlink unpacked earlier must not carry later entries out of the target.
    for (Path q = p.getParent(); q != null && q.startsWith(target) && !q.equals(target); q = q.getParent()) {
      if (Files.isSymbolicLink(q)) {
        throw new IOException("archive " + source + ": entry '" + name
            + "' lies below the symlink '" + target.relativize(q) + "'; refusing");
      }
    }
    return p;
  }

  private void copyExactly(InputStream in, OutputStream out, long size, String name) throws IOException {
    byte[] buf = new byte[64 * 1024];
    long left = size;
    while (left > 0) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, left));
      if (n < 0) {
        throw new EOFException("archive " + source + " ends inside '" + name + "' ("
            + (size - left) + " of " + size + " bytes): the stored backup is truncated");
      }
      out.write(buf, 0, n);
      left -= n;
    }
  }

  private static void setMode(Path p, Set<PosixFilePermission> mode) throws IOException {
    if (!Files.isSymbolicLink(p)) {
      Files.setPosixFilePermissions(p, mode);
    }
  }

  private boolean readBlock(InputStream in, byte[] block) throws IOException {
    int off = 0;
    while (off < BLOCK) {
      int n = in.read(block, off, BLOCK - off);
      if (n < 0) {
        return false;
      }
      off += n;
    }
    return true;
  }

  private String readString(InputStream in, long size) throws IOException {
    if (size > 1 << 20) {
      throw new IOException("archive " + source + ": a header record of " + size + " bytes; refusing");
    }
    byte[] b = in.readNBytes((int) size);
    if (b.length != size) {
      throw new EOFException("archive " + source + " is truncated inside a header record");
    }
    skipPadding(in, size);
    return new String(b, StandardCharsets.UTF_8);
  }

  private void skip(InputStream in, long size) throws IOException {
    in.skipNBytes(size);
    skipPadding(in, size);
  }

  private static void skipPadding(InputStream in, long size) throws IOException {
    long pad = (BLOCK - size % BLOCK) % BLOCK;
    in.skipNBytes(pad);
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private void verifyChecksum(byte[] h) throws IOException {
    long stored = parseOctal(h, 148, 8);
    long sum = 0;
    for (int i = 0; i < BLOCK; i++) {
      sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
    }
    if (sum != stored) {
      throw new IOException("archive " + source + ": a tar header checksum does not match;"
          + " the stored backup is corrupt; pick another backup");
    }
  }

  private static String name(byte[] h) {
    String name = cString(h, 0, 100);
    String prefix = cString(h, 345, 155);
    return prefix.isEmpty() ? name : prefix + "/" + name;
  }

  private static String cString(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, StandardCharsets.UTF_8);
  }

  private static String trimNul(String s) {
    int i = s.indexOf('\0');
    return i < 0 ? s : s.substring(0, i);
  }

  private long parseOctal(byte[] b, int off, int len) throws IOException {
    if ((b[off] & 0x80) != 0) { // GNU base-256 for sizes >= 8 GiB
      long v = 0;
      for (int i = off + 1; i < off + len; i++) {
        v = (v << 8) | (b[i] & 0xff);
      }
      return v;
    }
    long v = 0;
    for (int i = off; i < off + len; i++) {
      byte c = b[i];
      if (c == 0 || c == ' ') {
        if (v > 0 || i > off) {
          break;
        }
        continue;
      }
      if (c < '0' || c > '7') {
        throw new IOException("archive " + source + ": a tar header holds a bad number;"
            + " the stored backup is corrupt");
      }
      v = (v << 3) + (c - '0');
    }
    return v;
  }

  /** path and linkpath from a pax extended header ("LEN key=value\n" records). */
  private static String[] pax(String records) {
    String path = null;
    String linkpath = null;
    int i = 0;
    while (i < records.length()) {
      int sp = records.indexOf(' ', i);
      if (sp < 0) {
        break;
      }
      int len = Integer.parseInt(records.substring(i, sp));
      String rec = records.substring(sp + 1, i + len - 1);
      int eq = rec.indexOf('=');
      if (eq > 0) {
        String key = rec.substring(0, eq);
        if (key.equals("path")) {
          path = rec.substring(eq + 1);
        } else if (key.equals("linkpath")) {
          linkpath = rec.substring(eq + 1);
        }
      }
      i += len;
    }
    return new String[] {path, linkpath};
  }

  static boolean exists(Path p) {
    return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
  }
}
