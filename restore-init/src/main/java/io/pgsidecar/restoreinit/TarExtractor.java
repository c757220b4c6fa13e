package io.pgsidecar.restoreinit;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Unpacks the tar stream pg_basebackup writes ({@code -Ft}: ustar, with pax or GNU long-name
 * records when a path is long) into a data directory, as it streams past: nothing is staged.
 *
 * <p>Tar-slip protection, checked against the real file system, not only the names. The archive
 * comes from our own repository, but a restore must not trust it: a tampered object must not be
 * able to write {@code /etc/passwd}, nor leave a link in the data directory that PostgreSQL or
 * the restore would later follow out of it.
 * <ul>
 *   <li>An entry name that is absolute, empty or holds a {@code ..} component is refused.</li>
 *   <li>Every directory on an entry's path is looked at without following links
 *       ({@code lstat}): an entry below a symlink (whatever made it), or below something that is
 *       not a directory, is refused. Missing directories are created one by one with
 *       {@code mkdir}, which never follows a link.</li>
 *   <li>Files are created with {@code O_CREAT|O_EXCL|O_NOFOLLOW}: an existing name, a link
 *       among them, is never opened, so nothing is ever written through a link or over an
 *       earlier entry.</li>
 *   <li>A symlink may only point below its own directory: a relative target without {@code ..}.
 *       Such links can only lead into real directories of the target or to more links of the
 *       same kind, whatever order the archive creates them in, so no chain of them leaves the
 *       target. Absolute targets are refused: the only ones a PostgreSQL data directory holds
 *       are tablespaces ({@code pg_tblspc/<oid>}), and {@code pg_basebackup -D -} refuses to
 *       run when there are any, so a pgsidecar backup never contains one.</li>
 *   <li>A hard link may only name a regular file already unpacked in the target.</li>
 *   <li>The files the restore writes itself afterwards ({@code postgresql.auto.conf},
 *       {@code recovery.signal}, {@code standby.signal}) may only be regular files.</li>
 * </ul>
 * The restore is the only writer of the data directory while it runs (the server is not
 * started yet), so what was checked stays true until it is used.
 *
 * <p>The top-level {@code PG_VERSION} is not written: it is held back and returned in the
 * {@link Result}, so that the restore writes it last, once everything else is durable. Its
 * presence is what marks a data directory as holding a server ({@link DataDirectory}).
 *
 * <p>Modes follow what PostgreSQL wants: directories 0700, files 0600 (the tar's own modes are
 * ignored, so a restore into a volume never widens access).
 */
public final class TarExtractor {

  private static final int BLOCK = 512;
  private static final FileAttribute<Set<PosixFilePermission>> DIR_MODE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
  private static final FileAttribute<Set<PosixFilePermission>> FILE_MODE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
  /** Written by the restore after the unpack: never anything but a regular file of ours. */
  private static final Set<String> WRITTEN_LATER =
      Set.of("postgresql.auto.conf", "recovery.signal", "standby.signal", DataDirectory.MARKER);
  static final String PG_VERSION = "PG_VERSION";
  private static final int PG_VERSION_MAX = 64;

  /**
   * What was unpacked; {@code pgVersion} is the content of the top-level {@code PG_VERSION},
   * held back (null when the archive has none).
   */
  public record Result(long files, long bytes, byte[] pgVersion) {}

  private final Path target;
  private final String source;
  private long files;
  private long bytes;
  private byte[] pgVersion;
  /** The last directory checked to be a real directory of the target (entries come grouped). */
  private Path checkedDir;

  /**
   * @param target the data directory (must exist)
   * @param source names the archive in error messages, e.g. the object key
   */
  public TarExtractor(Path target, String source) {
    Path t = target.toAbsolutePath().normalize();
    try {
      t = t.toRealPath(); // the volume may be mounted through a link: work below its real path
    } catch (IOException e) {
      // does not exist yet: the first write names it
    }
    this.target = t;
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
        case '5' -> directory(name);
        case '2' -> symlink(name, link);
        case '1' -> hardLink(name, link);
        default -> throw new IOException("archive " + source + ": entry '" + name
            + "' has tar type '" + type + "' which a PostgreSQL backup never contains; refusing");
      }
    }
    return new Result(files, bytes, pgVersion);
  }

  private void writeFile(InputStream in, String name, long size) throws IOException {
    Path rel = relative(name);
    if (rel.toString().equals(PG_VERSION)) {
      holdBackPgVersion(in, name, size);
      return;
    }
    Path p = inTarget(name, rel);
    FileChannel ch;
    try {
      ch = create(p);
    } catch (FileAlreadyExistsException e) {
      throw exists(name);
    }
    try (ch) {
      copyExactly(in, Channels.newOutputStream(ch), size, name);
    }
    skipPadding(in, size);
    files++;
    bytes += size;
  }

  private void holdBackPgVersion(InputStream in, String name, long size) throws IOException {
    if (pgVersion != null) {
      throw new IOException("archive " + source + ": entry '" + name + "' appears twice; refusing");
    }
    if (size > PG_VERSION_MAX) {
      throw new IOException("archive " + source + ": entry '" + name + "' holds " + size
          + " bytes, not a PostgreSQL version; refusing");
    }
    byte[] b = in.readNBytes((int) size);
    if (b.length != size) {
      throw new EOFException("archive " + source + " ends inside '" + name + "' (" + b.length
          + " of " + size + " bytes): the stored backup is truncated");
    }
    skipPadding(in, size);
    pgVersion = b;
    files++;
    bytes += size;
  }

  private static FileChannel create(Path p) throws IOException {
    return FileChannel.open(p, Set.<OpenOption>of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS), FILE_MODE);
  }

  private void directory(String name) throws IOException {
    Path rel = relative(name);
    notALaterFile(name, rel, "a directory");
    Path p = inTarget(name, rel);
    mkdir(name, p);
  }

  private void symlink(String name, String link) throws IOException {
    Path rel = relative(name);
    notALaterFile(name, rel, "a symlink");
    Path p = inTarget(name, rel);
    if (link.isEmpty() || link.startsWith("/") || link.indexOf('\0') >= 0) {
      throw new IOException("archive " + source + ": symlink '" + name + "' points to '" + link
          + "', outside the data directory; refusing (a pgsidecar backup holds no tablespace:"
          + " pg_basebackup -D - refuses to write one)");
    }
    for (String part : link.split("/")) {
      if (part.equals("..")) {
        throw new IOException("archive " + source + ": symlink '" + name + "' points to '" + link
            + "', which climbs out of its directory with '..'; refusing (a link in a restored"
            + " data directory may only point below its own directory)");
      }
    }
    try {
      Files.createSymbolicLink(p, Path.of(link)); // symlink(2) never follows an existing name
    } catch (FileAlreadyExistsException e) {
      throw exists(name);
    }
  }

  private void hardLink(String name, String link) throws IOException {
    Path rel = relative(name);
    notALaterFile(name, rel, "a hard link");
    Path existing = existingFile(name, link);
    Path p = inTarget(name, rel);
    try {
      Files.createLink(p, existing); // link(2) follows neither name on Linux
    } catch (FileAlreadyExistsException e) {
      throw exists(name);
    }
  }

  /** The regular file a hard link names, reached through real directories of the target only. */
  private Path existingFile(String name, String link) throws IOException {
    Path rel;
    try {
      rel = relative(link);
    } catch (IOException absoluteOrClimbing) {
      throw new IOException("archive " + source + ": hard link '" + name + "' points to '" + link
          + "', outside the data directory; refusing");
    }
    Path p = target;
    for (int i = 0; i < rel.getNameCount(); i++) {
      p = p.resolve(rel.getName(i));
      var attrs = attributes(p);
      boolean last = i == rel.getNameCount() - 1;
      if (attrs == null || attrs.isSymbolicLink() || (last ? !attrs.isRegularFile() : !attrs.isDirectory())) {
        throw new IOException("archive " + source + ": hard link '" + name + "' points to '" + link
            + "', which is not a regular file unpacked in the data directory; refusing");
      }
    }
    return p;
  }

  /** Refuses anything but a regular file for a name the restore itself writes afterwards. */
  private void notALaterFile(String name, Path rel, String what) throws IOException {
    if (rel.getNameCount() == 1 && (WRITTEN_LATER.contains(rel.toString())
        || rel.toString().equals(PG_VERSION))) {
      throw new IOException("archive " + source + ": entry '" + name + "' is " + what
          + "; a backup holds " + rel + " as a regular file only, and the restore writes it"
          + " itself; refusing");
    }
  }

  /**
   * The entry's path relative to the target, refusing names that could leave it lexically.
   */
  Path relative(String name) throws IOException {
    String n = name;
    while (n.startsWith("./")) {
      n = n.substring(2);
    }
    if (n.isEmpty() || n.startsWith("/") || n.indexOf('\0') >= 0) {
      throw new IOException("archive " + source + ": entry name '" + name
          + "' is absolute or empty; refusing to unpack it");
    }
    StringBuilder clean = new StringBuilder();
    for (String part : n.split("/")) {
      if (part.equals("..")) {
        throw new IOException("archive " + source + ": entry name '" + name
            + "' contains '..'; refusing to unpack it");
      }
      if (!part.isEmpty() && !part.equals(".")) {
        clean.append(clean.isEmpty() ? "" : "/").append(part);
      }
    }
    if (clean.isEmpty()) {
      throw new IOException("archive " + source + ": entry name '" + name
          + "' is absolute or empty; refusing to unpack it");
    }
    return Path.of(clean.toString());
  }

  /**
   * The absolute path of {@code rel}, once every directory above it is a real directory of the
   * target (created when missing); the last component itself is not looked at.
   */
  private Path inTarget(String name, Path rel) throws IOException {
    Path parent = rel.getParent();
    Path dir = parent == null ? target : target.resolve(parent);
    if (!dir.equals(checkedDir) && parent != null) {
      Path p = target;
      for (int i = 0; i < parent.getNameCount(); i++) {
        p = p.resolve(parent.getName(i));
        var attrs = attributes(p);
        if (attrs == null) {
          mkdir(name, p);
        } else if (attrs.isSymbolicLink()) {
          throw new IOException("archive " + source + ": entry '" + name
              + "' lies below the symlink '" + target.relativize(p) + "'; refusing");
        } else if (!attrs.isDirectory()) {
          throw new IOException("archive " + source + ": entry '" + name + "' lies below '"
              + target.relativize(p) + "', which is not a directory; refusing");
        }
      }
    }
    checkedDir = dir;
    return target.resolve(rel);
  }

  /** Creates directory {@code p} (0700) unless it is one already; a link there is refused. */
  private void mkdir(String name, Path p) throws IOException {
    try {
      Files.createDirectory(p, DIR_MODE); // mkdir(2) never follows an existing name
    } catch (FileAlreadyExistsException e) {
      var attrs = attributes(p);
      if (attrs == null || !attrs.isDirectory() || attrs.isSymbolicLink()) {
        throw new IOException("archive " + source + ": entry '" + name + "' needs the directory '"
            + target.relativize(p) + "', which an earlier entry made "
            + (attrs != null && attrs.isSymbolicLink() ? "a symlink" : "something else") + "; refusing");
      }
    }
  }

  private IOException exists(String name) {
    return new IOException("archive " + source + ": entry '" + name + "' exists already in the"
        + " data directory (the archive holds that name twice); refusing to replace it");
  }

  /** The attributes of {@code p} itself (a link is not followed), or null when nothing is there. */
  private static BasicFileAttributes attributes(Path p) throws IOException {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return null;
    }
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
}
