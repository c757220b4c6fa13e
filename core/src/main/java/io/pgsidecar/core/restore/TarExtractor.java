package io.pgsidecar.core.restore;

import static io.pgsidecar.core.restore.TarReader.show;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
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
 * records when a path is long; read header by header by {@link TarReader}) into a data
 * directory, as it streams past: nothing is staged.
 *
 * <p>Tar-slip protection, checked against the real file system, not only the names. The archive
 * comes from our own repository, but a restore must not trust it: a tampered object must not be
 * able to write {@code /etc/passwd}, nor leave a link in the data directory that PostgreSQL or
 * the restore would later follow out of it.
 * <ul>
 *   <li>An entry name that is absolute, empty or holds a {@code ..} component is refused
 *       (a directory entry {@code ./}, the target itself, is skipped).</li>
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
  /** Where written files are handed for an early fsync; null: none (the final pass only). */
  private WriteBehind writeBehind;
  /** One copy buffer for every file: large writes, no allocation per file. */
  private final byte[] copyBuffer = new byte[COPY_BUFFER];
  static final int COPY_BUFFER = 1 << 20;

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

  /** Hands the files written from now on to {@code w} for an early fsync. */
  TarExtractor writeBehind(WriteBehind w) {
    this.writeBehind = w;
    return this;
  }

  public Result extract(InputStream stream) throws IOException {
    TarReader tar = new TarReader(stream, source);
    for (TarReader.Entry e = tar.next(); e != null; e = tar.next()) {
      try {
        entry(tar.data(), e.type(), e.name(), e.link(), e.size());
      } catch (FileSystemException | InvalidPathException ex) {
        // the refusals below are plain IOExceptions; these come from the file system
        String reason = ex instanceof FileSystemException f ? f.getReason()
            : ((InvalidPathException) ex).getReason();
        throw new IOException("archive " + source + ": entry " + show(e.name()) + " cannot be"
            + " unpacked into " + target + ": " + (reason != null ? reason
            : ex.getClass().getSimpleName()), ex);
      }
    }
    return new Result(files, bytes, pgVersion);
  }

  private void entry(InputStream in, char type, String name, String link, long size) throws IOException {
    if (size != 0 && (type == '5' || type == '2' || type == '1')) {
      throw new IOException("archive " + source + ": entry " + show(name) + " is a "
          + (type == '5' ? "directory" : "link") + " with " + size + " bytes of data, which no tar"
          + " writer stores; the stored backup is corrupt; refusing");
    }
    switch (type) {
      case '0', '\0', '7' -> writeFile(in, name, size);
      case '5' -> directory(name);
      case '2' -> symlink(name, link);
      case '1' -> hardLink(name, link);
      default -> throw new IOException("archive " + source + ": entry " + show(name)
          + " has tar type " + show(String.valueOf(type)) + " which a PostgreSQL backup never"
          + " contains; refusing");
    }
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
      copyExactly(in, ch, p, size, name);
    }
    if (writeBehind != null && size >= WriteBehind.MIN_FILE) {
      writeBehind.hint(p);
    }
    files++;
    bytes += size;
  }

  private void holdBackPgVersion(InputStream in, String name, long size) throws IOException {
    if (pgVersion != null) {
      throw new IOException("archive " + source + ": entry " + show(name) + " appears twice; refusing");
    }
    if (size > PG_VERSION_MAX) {
      throw new IOException("archive " + source + ": entry " + show(name) + " holds " + size
          + " bytes, not a PostgreSQL version; refusing");
    }
    byte[] b = in.readNBytes((int) size);
    if (b.length != size) {
      throw new EOFException("archive " + source + " ends inside " + show(name) + " (" + b.length
          + " of " + size + " bytes): the stored backup is truncated");
    }
    pgVersion = b;
    files++;
    bytes += size;
  }

  private static FileChannel create(Path p) throws IOException {
    return FileChannel.open(p, Set.<OpenOption>of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
        LinkOption.NOFOLLOW_LINKS), FILE_MODE);
  }

  private void directory(String name) throws IOException {
    if (name.matches("(\\./*)+")) {
      return; // "./": the target itself, the first entry of tar -C dir -cf - .
    }
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
      throw new IOException("archive " + source + ": symlink " + show(name) + " points to " + show(link)
          + ", outside the data directory; refusing (a pgsidecar backup holds no tablespace:"
          + " pg_basebackup -D - refuses to write one)");
    }
    for (String part : link.split("/")) {
      if (part.equals("..")) {
        throw new IOException("archive " + source + ": symlink " + show(name) + " points to " + show(link)
            + ", which climbs out of its directory with '..'; refusing (a link in a restored"
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
      throw new IOException("archive " + source + ": hard link " + show(name) + " points to " + show(link)
          + ", outside the data directory; refusing");
    }
    Path p = target;
    for (int i = 0; i < rel.getNameCount(); i++) {
      p = p.resolve(rel.getName(i));
      var attrs = attributes(p);
      boolean last = i == rel.getNameCount() - 1;
      if (attrs == null || attrs.isSymbolicLink() || (last ? !attrs.isRegularFile() : !attrs.isDirectory())) {
        throw new IOException("archive " + source + ": hard link " + show(name) + " points to " + show(link)
            + ", which is not a regular file unpacked in the data directory; refusing");
      }
    }
    return p;
  }

  /** Refuses anything but a regular file for a name the restore itself writes afterwards. */
  private void notALaterFile(String name, Path rel, String what) throws IOException {
    if (rel.getNameCount() == 1 && (WRITTEN_LATER.contains(rel.toString())
        || rel.toString().equals(PG_VERSION))) {
      throw new IOException("archive " + source + ": entry " + show(name) + " is " + what
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
      throw new IOException("archive " + source + ": entry name " + show(name)
          + " is absolute or empty; refusing to unpack it");
    }
    StringBuilder clean = new StringBuilder();
    for (String part : n.split("/")) {
      if (part.equals("..")) {
        throw new IOException("archive " + source + ": entry name " + show(name)
            + " contains '..'; refusing to unpack it");
      }
      if (!part.isEmpty() && !part.equals(".")) {
        clean.append(clean.isEmpty() ? "" : "/").append(part);
      }
    }
    if (clean.isEmpty()) {
      throw new IOException("archive " + source + ": entry name " + show(name)
          + " is absolute or empty; refusing to unpack it");
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
          throw new IOException("archive " + source + ": entry " + show(name)
              + " lies below the symlink " + show(target.relativize(p).toString()) + "; refusing");
        } else if (!attrs.isDirectory()) {
          throw new IOException("archive " + source + ": entry " + show(name) + " lies below "
              + show(target.relativize(p).toString()) + ", which is not a directory; refusing");
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
        throw new IOException("archive " + source + ": entry " + show(name) + " needs the directory "
            + show(target.relativize(p).toString()) + ", which an earlier entry made "
            + (attrs != null && attrs.isSymbolicLink() ? "a symlink" : "something else") + "; refusing");
      }
    }
  }

  private IOException exists(String name) {
    return new IOException("archive " + source + ": entry " + show(name) + " exists already in the"
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

  private void copyExactly(InputStream in, FileChannel out, Path p, long size, String name)
      throws IOException {
    byte[] buf = copyBuffer;
    long left = size;
    long sinceHint = 0;
    while (left > 0) {
      int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, left));
      if (n <= 0) {
        throw new EOFException("archive " + source + " ends inside " + show(name) + " ("
            + (size - left) + " of " + size + " bytes): the stored backup is truncated");
      }
      var b = java.nio.ByteBuffer.wrap(buf, 0, n);
      while (b.hasRemaining()) {
        out.write(b);
      }
      left -= n;
      sinceHint += n;
      if (writeBehind != null && sinceHint >= WriteBehind.STRIDE && left > 0) {
        writeBehind.hint(p);
        sinceHint = 0;
      }
    }
  }

}
