package io.pgsidecar.agent.wal.push;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.Objects;

/**
 * The only way the push side reads a file of {@code pg_wal}: what PostgreSQL itself hands to
 * archive_command, and nothing a user who can write into {@code pg_wal} could plant there.
 * <ol>
 *   <li>the name is one PostgreSQL produces ({@link WalFileName}: a segment, {@code .history},
 *       {@code .partial} or {@code .backup}, timeline 1 or later);</li>
 *   <li>PostgreSQL marked it ready: {@code pg_wal/archive_status/<name>.ready} exists
 *       (archive_command is only ever called for such a file);</li>
 *   <li>it is a regular file directly in {@code pg_wal} (which may itself be a link to a WAL
 *       volume, as {@code initdb --waldir} makes it), opened with {@code O_NOFOLLOW}, so a symbolic
 *       link is never followed, even one swapped in after a check.</li>
 * </ol>
 * A refusal ({@link #isRefusal}) is a {@link JobException} INVALID_INPUT (HTTP 400) naming the
 * file and why, with the detail {@code name}. Java has no {@code fstat} on
 * a channel, so "regular" is checked before the open (which also keeps a FIFO from blocking the
 * open) and again after it, on the same device and inode: a name swapped in between is refused.
 * What could still slip through that window is only another non-link file directly in pg_wal.
 */
final class PgWalFile {

  private PgWalFile() {}

  /** A file the archive contract does not let the agent read; never retried by the look-ahead. */
  static JobException refused(String message, WalFileName name) {
    return JobException.invalidInput(message).with("name", name.name());
  }

  /** Whether {@code t} is such a refusal of one file (the WAL metrics count them apart). */
  static boolean isRefusal(Throwable t) {
    return t instanceof JobException j && j.kind() == JobException.Kind.INVALID_INPUT
        && j.details().containsKey("name");
  }

  /** Refuses {@code name} unless PostgreSQL marked it ready in {@code pgWal/archive_status}. */
  static void requireReady(Path pgWal, WalFileName name) {
    Path ready = pgWal.resolve("archive_status").resolve(name.name() + ".ready");
    if (!Files.isRegularFile(ready, LinkOption.NOFOLLOW_LINKS)) {
      throw refused("refusing to archive " + name + ": PostgreSQL has not marked it ready ("
          + ready + " does not exist); archive_command is only called for files PostgreSQL marked"
          + " ready, so something else asked for it. Archive WAL only through archive_command", name);
    }
  }

  /** Opens {@code pgWal/<name>} for reading after the checks above. */
  static FileChannel open(Path pgWal, WalFileName name) throws IOException {
    Path file = pgWal.resolve(name.name());
    BasicFileAttributes before = regular(file, name);
    FileChannel ch;
    try {
      ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw JobException.notFound("WAL file " + file + " disappeared while being opened");
    } catch (FileSystemException e) {
      // ELOOP: it became a symbolic link after the check
      throw refused(refusal(file, "became a symbolic link while being opened: " + e.getMessage()), name);
    }
    try {
      BasicFileAttributes after = regular(file, name);
      if (!Objects.equals(before.fileKey(), after.fileKey())) {
        throw refused(refusal(file, "was replaced by another file while being opened"), name);
      }
      return ch;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  private static BasicFileAttributes regular(Path file, WalFileName name) throws IOException {
    BasicFileAttributes a;
    try {
      a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw JobException.notFound("WAL file " + file + " does not exist in the agent's view of"
          + " PGDATA; check that the agent's pgdata setting mounts the server's data directory");
    }
    if (!a.isRegularFile()) {
      String what = a.isSymbolicLink() ? "is a symbolic link" : a.isDirectory() ? "is a directory"
          : "is not a regular file (a FIFO, socket or device)";
      throw refused(refusal(file, what), name);
    }
    return a;
  }

  private static String refusal(Path file, String what) {
    return "refusing to archive " + file + ": it " + what + "; PostgreSQL only writes regular files"
        + " into pg_wal, so this one was put there by something else. Remove it and its"
        + " archive_status/.ready file";
  }
}
