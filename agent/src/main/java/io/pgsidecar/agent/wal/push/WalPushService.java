package io.pgsidecar.agent.wal.push;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What {@code POST /v1/wal/push} does, in order:
 * <ol>
 *   <li>validate the path PostgreSQL passed as {@code %p}: {@code pg_wal/<name>} with a name
 *       PostgreSQL produces, marked ready in {@code archive_status} (400 with the reason
 *       otherwise); the file is read only as {@link PgWalFile} allows: a regular file, no link
 *       followed ({@code pg_wal} itself may be a link to a WAL volume);</li>
 *   <li>check that this server may archive into the path ({@link ClusterGuard});</li>
 *   <li>answer at once when the look-ahead already made the file durable; join an upload of the
 *       same name already under way; otherwise upload it now;</li>
 *   <li>meanwhile let the look-ahead pick up the next {@code .ready} segments.</li>
 * </ol>
 * A success is returned only once the object is durable. During shutdown new pushes get 503
 * (PostgreSQL retries them later) while pushes under way may finish.
 */
public final class WalPushService {

  private final Path pgdata;
  private final ClusterGuard guard;
  private final SegmentUploader uploader;
  private final LookAhead lookAhead;
  private final AtomicInteger active = new AtomicInteger();
  private volatile boolean shuttingDown;

  public WalPushService(Path pgdata, ClusterGuard guard, SegmentUploader uploader, LookAhead lookAhead) {
    this.pgdata = pgdata;
    this.guard = guard;
    this.uploader = uploader;
    this.lookAhead = lookAhead;
  }

  /** Archives the file at {@code relativePath} (PostgreSQL's {@code %p}, relative to PGDATA). */
  public Stored push(String relativePath) throws IOException {
    active.incrementAndGet();
    try {
      if (shuttingDown) {
        throw new JobException(JobException.Kind.STORAGE_UNAVAILABLE, "the agent is shutting down and takes no new WAL pushes;"
            + " PostgreSQL will retry " + relativePath + " once the agent is back");
      }
      WalFileName name = nameOf(relativePath);
      Path pgWal = checkPath(relativePath, name);
      PgWalFile.requireReady(pgWal, name);
      guard.check();
      return store(name, pgWal);
    } finally {
      active.decrementAndGet();
    }
  }

  private Stored store(WalFileName name, Path pgWal) throws IOException {
    while (true) {
      Optional<Stored> ahead = lookAhead.claim(name.name());
      if (ahead.isPresent()) {
        lookAhead.answered(name.name());
        lookAhead.trigger();
        return ahead.get().answered(Stored.Answer.LOOK_AHEAD);
      }
      CompletableFuture<Stored> mine = new CompletableFuture<>();
      CompletableFuture<Stored> other = lookAhead.running().putIfAbsent(name.name(), mine);
      if (other != null) {
        if (lookAhead.takeOver(name.name())) {
          continue;
        }
        try {
          Stored s = other.join();
          lookAhead.claim(name.name()); // a look-ahead also left it in its durable set
          lookAhead.answered(name.name());
          return s.answered(Stored.Answer.JOINED);
        } catch (CompletionException | java.util.concurrent.CancellationException e) {
          // the other upload failed (or was a look-ahead that stopped): try ourselves
          continue;
        }
      }
      try {
        lookAhead.trigger();
        Optional<Stored> raced = lookAhead.claim(name.name());
        Stored s = raced.isPresent() ? raced.get().answered(Stored.Answer.LOOK_AHEAD) : uploader.upload(name, pgWal);
        lookAhead.pushSucceeded();
        lookAhead.answered(name.name());
        mine.complete(s);
        return s;
      } catch (IOException | RuntimeException e) {
        if (PgWalFile.isRefusal(e)) {
          // before the name leaves `running`: a look-ahead scan must not try it again
          lookAhead.refusedByPush(name.name());
        }
        mine.completeExceptionally(e);
        throw e;
      } finally {
        lookAhead.running().remove(name.name(), mine);
      }
    }
  }

  static WalFileName nameOf(String relativePath) {
    if (relativePath == null || relativePath.isEmpty()) {
      throw JobException.invalidInput("the request names no file: send {\"path\":\"pg_wal/<file>\"}"
          + " with archive_command's %p");
    }
    String fileName = relativePath.substring(relativePath.lastIndexOf('/') + 1);
    try {
      return WalFileName.parse(fileName);
    } catch (IllegalArgumentException e) {
      throw JobException.invalidInput(e.getMessage());
    }
  }

  /**
   * The agent's view of {@code pg_wal} once {@code relativePath} is checked to be what
   * PostgreSQL passes as {@code %p}: {@code pg_wal/<name>}, relative, inside PGDATA. The file
   * itself is opened later, only through {@link PgWalFile} (no link followed, regular only).
   */
  private Path checkPath(String relativePath, WalFileName name) {
    Path rel = Path.of(relativePath);
    if (rel.isAbsolute()) {
      throw JobException.invalidInput("path '" + relativePath + "' is absolute; send archive_command's"
          + " %p, which is relative to the data directory (the agent sees PGDATA at " + pgdata + ")");
    }
    Path root = pgdata.toAbsolutePath().normalize();
    Path file = root.resolve(rel).normalize();
    if (!file.startsWith(root)) {
      throw JobException.invalidInput("path '" + relativePath + "' leaves PGDATA (" + root + ");"
          + " send archive_command's %p, a path inside the data directory");
    }
    Path pgWal = root.resolve("pg_wal");
    if (!file.equals(pgWal.resolve(name.name()))) {
      throw JobException.invalidInput("path '" + relativePath + "' is not directly in pg_wal; the agent"
          + " archives only pg_wal/<name>, which is what archive_command's %p gives");
    }
    return pgWal;
  }

  /** Refuses new pushes from now on; pushes under way continue. */
  public void beginShutdown() {
    shuttingDown = true;
    lookAhead.close();
  }

  /** Waits until no push is running or {@code grace} has passed; {@code true} when idle. */
  public boolean awaitIdle(Duration grace) throws InterruptedException {
    long deadline = System.nanoTime() + grace.toNanos();
    while (active.get() > 0) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }

  public int activePushes() {
    return active.get();
  }
}
