package io.pgsidecar.restoreinit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

/**
 * The data directory a restore writes into, and the init-container rules around it:
 * restore only into an empty directory or one holding our own unfinished-restore marker (a pod
 * restarted mid-restore starts over cleanly); leave a directory that holds a server alone; never
 * delete anything we did not write.
 */
public final class DataDirectory {

  /** Written first, removed last: its presence means "a restore of ours did not finish". */
  public static final String MARKER = ".pgsidecar-restore-in-progress";

  /** What the directory holds before a restore. */
  public enum State { EMPTY, UNFINISHED_RESTORE, HOLDS_SERVER, FOREIGN }

  private final Path dir;

  public DataDirectory(Path dir) {
    this.dir = dir.toAbsolutePath().normalize();
  }

  public Path path() {
    return dir;
  }

  public State state() throws IOException {
    if (!Files.exists(dir)) {
      return State.EMPTY;
    }
    if (Files.exists(dir.resolve(MARKER))) {
      return State.UNFINISHED_RESTORE;
    }
    if (Files.exists(dir.resolve("PG_VERSION"))) {
      return State.HOLDS_SERVER;
    }
    try (Stream<Path> entries = Files.list(dir)) {
      // A fresh volume's lost+found is not data.
      return entries.anyMatch(p -> !p.getFileName().toString().equals("lost+found"))
          ? State.FOREIGN : State.EMPTY;
    }
  }

  /**
   * Makes the directory ready to receive a backup: creates it (0700) or clears what an earlier,
   * unfinished restore of ours left, then writes the marker.
   */
  public void prepare() throws IOException {
    State s = state();
    switch (s) {
      case HOLDS_SERVER -> throw new IOException("data directory " + dir
          + " already holds a PostgreSQL server (PG_VERSION exists); not restoring over it");
      case FOREIGN -> throw new IOException("data directory " + dir
          + " is not empty and holds no restore marker of ours; refusing to touch it."
          + " Point pgdata at an empty directory, or empty it yourself if it is disposable");
      case UNFINISHED_RESTORE -> clearOurRestore();
      case EMPTY -> { }
    }
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    Files.writeString(dir.resolve(MARKER), "restore started\n", StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.SYNC);
  }

  /** Removes the marker: from now on the directory holds a server. */
  public void finish() throws IOException {
    Files.deleteIfExists(dir.resolve(MARKER));
  }

  private void clearOurRestore() throws IOException {
    try (Stream<Path> entries = Files.list(dir)) {
      for (Path p : (Iterable<Path>) entries::iterator) {
        String name = p.getFileName().toString();
        if (!name.equals(MARKER) && !name.equals("lost+found")) {
          deleteTree(p);
        }
      }
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isSymbolicLink(p) || !Files.isDirectory(p)) {
      Files.delete(p);
      return;
    }
    Files.walkFileTree(p, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
        Files.delete(f);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        Files.delete(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
