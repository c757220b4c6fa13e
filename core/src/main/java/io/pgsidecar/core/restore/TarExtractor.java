package io.pgsidecar.core.restore;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
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
 * records when a path is long) into a data directory, as it streams past: nothing is staged.
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
  /** The largest long-name or pax record accepted (PATH_MAX is 4096; pax times add little). */
  private static final int MAX_RECORD = 1 << 20;

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
    Counting in = new Counting(stream);
    byte[] header = new byte[BLOCK];
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
        break; // end of archive: pg_basebackup writes two zero blocks
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
          String name = longName != null ? longName : headerName;
          String link = longLink != null ? longLink : cString(header, 157, 100);
          long entrySize = paxSize >= 0 ? paxSize : size;
          longName = null;
          longLink = null;
          paxSize = -1;
          try {
            entry(in, type, name, link, entrySize);
          } catch (FileSystemException | InvalidPathException e) {
            // the refusals above are plain IOExceptions; these come from the file system
            String reason = e instanceof FileSystemException f ? f.getReason()
                : ((InvalidPathException) e).getReason();
            throw new IOException("archive " + source + ": entry " + show(name) + " cannot be"
                + " unpacked into " + target + ": " + (reason != null ? reason
                : e.getClass().getSimpleName()), e);
          }
        }
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
    skipPadding(in, size, name);
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
    skipPadding(in, size, name);
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

  private void skipPadding(InputStream in, long size, String name) throws IOException {
    long pad = padded(size) - size;
    long left = skip(in, pad);
    if (left > 0) {
      throw new EOFException("archive " + source + " ends inside the padding after entry "
          + show(name) + " (" + (pad - left) + " of " + pad + " bytes): the stored backup is"
          + " truncated");
    }
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
