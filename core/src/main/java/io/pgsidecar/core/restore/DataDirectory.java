package io.pgsidecar.core.restore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The data directory a restore writes into, and the init-container rules around it:
 * restore only into an empty directory or one holding our own unfinished-restore marker (a pod
 * restarted mid-restore starts over cleanly); leave a directory that holds a server alone; never
 * delete anything we did not write.
 *
 * <p>What makes "holds a server" safe to decide: the top-level {@code PG_VERSION} is the last
 * file a restore writes ({@link TarExtractor} holds it back), after every other file and
 * directory and the recovery settings are fsynced. So:
 * <ul>
 *   <li>{@code PG_VERSION} present: a server, or a restore of ours that finished (only the
 *       marker's removal may have been lost). Never wiped, whatever marker lies beside it.</li>
 *   <li>marker present, no {@code PG_VERSION}: a restore of ours that did not finish; what it
 *       wrote is cleared and the restore starts over.</li>
 *   <li>{@code PG_VERSION} beside a marker of an older pgsidecar, which wrote {@code PG_VERSION}
 *       as it came in the archive: nobody can tell whether that restore finished, so the
 *       directory is neither wiped nor started ({@link State#UNCLEAR}).</li>
 * </ul>
 */
public final class DataDirectory {

  /** Written first, removed last: its presence means "a restore of ours did not finish". */
  public static final String MARKER = ".pgsidecar-restore-in-progress";
  /** The marker's content: names the rule it was written under (PG_VERSION comes last). */
  public static final String MARKER_TEXT = "pgsidecar restore in progress; PG_VERSION is written last\n";

  /** What the directory holds before a restore. */
  public enum State { EMPTY, UNFINISHED_RESTORE, HOLDS_SERVER, UNCLEAR, FOREIGN }

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
    boolean marker = present(dir.resolve(MARKER));
    if (present(dir.resolve(TarExtractor.PG_VERSION))) {
      return !marker || MARKER_TEXT.equals(markerText()) ? State.HOLDS_SERVER : State.UNCLEAR;
    }
    if (marker) {
      return State.UNFINISHED_RESTORE;
    }
    try (Stream<Path> entries = Files.list(dir)) {
      // A fresh volume's lost+found is not data.
      return entries.anyMatch(p -> !p.getFileName().toString().equals("lost+found"))
          ? State.FOREIGN : State.EMPTY;
    }
  }

  /** Why a directory in {@link State#UNCLEAR} is left alone, and what to do. */
  public String unclearReason() {
    return "data directory " + dir + " holds PG_VERSION beside the restore marker " + MARKER
        + " of an older pgsidecar, which wrote PG_VERSION before the restore ended: it cannot"
        + " tell whether that restore finished. Neither wiping nor starting it; if the server"
        + " there is good, delete the marker, else empty the directory";
  }

  /**
   * Makes the directory ready to receive a backup: creates it (0700) or clears what an earlier,
   * unfinished restore of ours left, then writes the marker (fsynced with its directory).
   */
  public void prepare() throws IOException {
    State s = state();
    switch (s) {
      case HOLDS_SERVER -> throw new IOException("data directory " + dir
          + " already holds a PostgreSQL server (PG_VERSION exists); not restoring over it");
      case UNCLEAR -> throw new IOException(unclearReason());
      case FOREIGN -> throw new IOException("data directory " + dir
          + " is not empty and holds no restore marker of ours; refusing to touch it."
          + " Point pgdata at an empty directory, or empty it yourself if it is disposable");
      case UNFINISHED_RESTORE -> clearOurRestore();
      case EMPTY -> { }
    }
    boolean created = !Files.exists(dir);
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    try (FileChannel ch = FileChannel.open(dir.resolve(MARKER), Set.<OpenOption>of(StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS))) {
      ch.write(ByteBuffer.wrap(MARKER_TEXT.getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
    }
    fsync(dir);
    if (created && dir.getParent() != null) {
      fsync(dir.getParent());
    }
  }

  /** Fsyncs in flight at once in {@link #sync()}: the file system commits them together. */
  static final int SYNC_THREADS = 8;

  /**
   * Fsyncs every file and directory below the data directory (links are not followed; their
   * directory's fsync makes them durable). Run once after the unpack, before the recovery
   * settings appear: writing first and syncing in one pass at the end lets the kernel write back
   * while the unpack goes on (with {@link WriteBehind}'s head start), where an fsync per file
   * would wait for the disk each time. {@link #SYNC_THREADS} fsyncs run at once, so that a data
   * directory's thousand small files share journal commits instead of waiting for one each; at
   * most {@code 4 x SYNC_THREADS} paths wait in the queue (the walk syncs one itself when it is
   * full), whatever the number of files. Returns once every one has succeeded; the first
   * failure fails the whole pass, naming its file.
   */
  public void sync() throws IOException {
    var failure = new java.util.concurrent.atomic.AtomicReference<IOException>();
    var pool = new java.util.concurrent.ThreadPoolExecutor(SYNC_THREADS, SYNC_THREADS, 0,
        java.util.concurrent.TimeUnit.SECONDS,
        new java.util.concurrent.ArrayBlockingQueue<>(4 * SYNC_THREADS),
        Thread.ofPlatform().name(PipelinedUnpack.THREAD_PREFIX + "sync-", 0).daemon(true).factory(),
        new java.util.concurrent.ThreadPoolExecutor.CallerRunsPolicy());
    java.util.function.Consumer<Path> submit = p -> pool.execute(() -> {
      if (failure.get() != null) {
        return;
      }
      try {
        fsync(p);
      } catch (IOException e) {
        failure.compareAndSet(null, new IOException("cannot make " + p + " durable: "
            + reason(e) + "; the restore is not durable (the restore marker stays, a new run"
            + " starts over): check the volume (space, errors in the kernel log)", e));
      }
    });
    try {
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
          return d.getParent() != null && d.getParent().equals(dir)
              && d.getFileName().toString().equals("lost+found")
              ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
          if (a.isRegularFile()) {
            submit.accept(f);
          }
          return failure.get() == null ? FileVisitResult.CONTINUE : FileVisitResult.TERMINATE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          if (e != null) {
            throw e;
          }
          submit.accept(d);
          return failure.get() == null ? FileVisitResult.CONTINUE : FileVisitResult.TERMINATE;
        }
      });
    } finally {
      pool.shutdown();
      boolean interrupted = false;
      while (true) {
        try {
          if (pool.awaitTermination(1, java.util.concurrent.TimeUnit.DAYS)) {
            break;
          }
        } catch (InterruptedException e) {
          interrupted = true;
          failure.compareAndSet(null, new java.io.InterruptedIOException(
              "restore interrupted while syncing " + dir));
          pool.shutdownNow();
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    if (failure.get() != null) {
      throw failure.get();
    }
  }

  /**
   * The last steps: writes {@code PG_VERSION} (from this point the directory holds a server) and
   * removes the marker, each fsynced with the directory.
   *
   * @param pgVersion the content of the backup's top-level PG_VERSION
   */
  public void finish(byte[] pgVersion) throws IOException {
    Path p = dir.resolve(TarExtractor.PG_VERSION);
    try (FileChannel ch = FileChannel.open(p, Set.<OpenOption>of(StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
      ch.write(ByteBuffer.wrap(pgVersion));
      ch.force(true);
    }
    fsync(dir);
    removeMarker();
  }

  /** Removes the marker (fsynced): from now on the directory holds a server. */
  public void removeMarker() throws IOException {
    if (Files.deleteIfExists(dir.resolve(MARKER))) {
      fsync(dir);
    }
  }

  /** Fsyncs a regular file or a directory, opened without following a link. */
  static void fsync(Path p) throws IOException {
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      ch.force(true);
    }
  }

  private static boolean present(Path p) {
    return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
  }

  private String markerText() throws IOException {
    try {
      byte[] b = Files.readAllBytes(dir.resolve(MARKER));
      return new String(b, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private void clearOurRestore() throws IOException {
    if (present(dir.resolve(TarExtractor.PG_VERSION))) { // checked again right before deleting
      throw new IOException("data directory " + dir
          + " already holds a PostgreSQL server (PG_VERSION exists); not restoring over it");
    }
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

  /** The OS's reason without the path again (the message names the path itself). */
  static String reason(IOException e) {
    return e instanceof java.nio.file.FileSystemException f && f.getReason() != null
        ? f.getReason() : String.valueOf(e.getMessage());
  }
}
