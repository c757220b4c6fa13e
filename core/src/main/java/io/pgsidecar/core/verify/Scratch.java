package io.pgsidecar.core.verify;

import io.pgsidecar.core.job.JobException;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A private directory under {@code verify.work-dir} that one verification unpacks into and
 * removes when it closes, whether it succeeded or failed. Created 0700 with a name that says
 * what it holds ({@code backup-20261205T101500Z-<6 hex digits>}), so a leftover after a crash of the
 * whole process is recognisable and safe to delete.
 */
public final class Scratch implements AutoCloseable {

  private final Path dir;

  private Scratch(Path dir) {
    this.dir = dir;
  }

  /** Creates {@code <workDir>/<name>-<random>}; {@code workDir} is created when missing. */
  public static Scratch create(Path workDir, String name) {
    try {
      Files.createDirectories(workDir);
      // a short random tail: a scratch server's socket path must stay under 108 bytes
      java.util.random.RandomGenerator random = new java.security.SecureRandom();
      while (true) {
        Path dir = workDir.resolve(name + "-" + String.format("%06x", random.nextInt(1 << 24)));
        try {
          return new Scratch(Files.createDirectory(dir,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))));
        } catch (java.nio.file.FileAlreadyExistsException e) {
          // another one drew the same name: draw again
        }
      }
    } catch (IOException e) {
      throw new JobException(JobException.Kind.FAILED, "cannot create a scratch directory under "
          + workDir + ": " + e.getMessage() + "; set verify.work-dir to a writable directory with"
          + " room for one unpacked backup", e);
    }
  }

  public Path path() {
    return dir;
  }

  /** A directory inside the scratch directory (created). */
  public Path dir(String name) throws IOException {
    return Files.createDirectories(dir.resolve(name));
  }

  /** Removes everything below and the directory itself; links are removed, never followed. */
  @Override
  public void close() throws IOException {
    deleteTree(dir);
  }

  /** Removes {@code root} and everything below it; links are removed, never followed. */
  public static void deleteTree(Path root) throws IOException {
    try {
      Files.walkFileTree(root, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
          Files.delete(f);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          if (e != null) {
            throw e;
          }
          Files.delete(d);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (NoSuchFileException e) {
      // gone already
    }
  }
}
