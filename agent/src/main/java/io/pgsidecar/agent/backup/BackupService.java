package io.pgsidecar.agent.backup;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.job.Causes;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Base backups of this agent's cluster: start one (at most one at a time), list, show and delete
 * them, and clean up the data of backups that never completed. A backup exists for this service
 * (and for restore) exactly when its {@code backup.json} exists; see {@link BackupRun} for how
 * one is made.
 */
public final class BackupService implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(BackupService.class.getName());

  /** How old unfinished backup data must be before the cleanup after a backup removes it. */
  public static final Duration ORPHAN_GRACE = Duration.ofHours(1);

  private final RepositoryLayout layout;
  private final Storage storage;
  private final CodecPipeline pipeline;
  private final PgsidecarConfig.Postgres postgres;
  private final PgsidecarConfig.Backup settings;
  private final Clock clock;
  private final String agentVersion;
  private final BackupDirectories dirs;
  private final AtomicReference<RunningBackup> running = new AtomicReference<>();
  private final AtomicReference<BackupResult> last = new AtomicReference<>();
  private final List<BackupListener> listeners = new CopyOnWriteArrayList<>();
  private volatile Supplier<Optional<Instant>> nextScheduledRun = Optional::empty;
  private volatile boolean closed;

  public BackupService(RepositoryLayout layout, Storage storage, CodecPipeline pipeline,
      PgsidecarConfig.Postgres postgres, PgsidecarConfig.Backup settings, Clock clock) {
    this.layout = layout;
    this.storage = storage;
    this.dirs = new BackupDirectories(storage, layout);
    this.pipeline = pipeline;
    this.postgres = postgres;
    this.settings = settings;
    this.clock = clock;
    String v = BackupService.class.getPackage().getImplementationVersion();
    this.agentVersion = v == null ? "dev" : v;
  }

  /** The service for the agent's configuration. */
  public static BackupService fromConfig(PgsidecarConfig config, Storage storage,
      CodecPipeline pipeline) {
    // one long stream: zstd workers of its own (backup.compression-workers), WAL keeps its own
    return new BackupService(new RepositoryLayout(config.storage().prefix(), config.cluster()),
        storage, pipeline.withCompressionWorkers(config.backup().compressionWorkers()),
        config.postgres(), config.backup(), Clock.systemUTC());
  }

  /** Told of every backup that starts and ends (metrics). */
  public void addListener(BackupListener listener) {
    listeners.add(listener);
  }

  /** Where {@link #status()} learns the next scheduled run (set by {@link BackupScheduler}). */
  void nextScheduledRunFrom(Supplier<Optional<Instant>> source) {
    nextScheduledRun = source;
  }

  /**
   * Starts a base backup on threads of its own and returns at once.
   *
   * @throws JobException CONFLICT when one is running (detail {@code runningId})
   * @throws IOException when no id could be allocated (storage unreachable)
   */
  public synchronized RunningBackup start(String label) throws IOException {
    if (closed) {
      throw new IllegalStateException("the backup service is stopped");
    }
    RunningBackup current = running.get();
    if (current != null) {
      throw JobException.conflict("base backup " + current.id()
          + " is running (started " + current.startedAt() + "); one base backup runs at a time, "
          + "wait for it or cancel it").with("runningId", current.id());
    }
    Instant now = clock.instant();
    String id = BackupIds.next(now, dirs::taken);
    RunningBackup backup = new RunningBackup(id, label == null ? "" : label, now);
    running.set(backup);
    notify(l -> l.started(backup));
    // a platform thread: it compresses and hashes the whole stream, which on a virtual thread
    // would pin a carrier and delay the agent's WAL requests meanwhile (see Retry)
    Thread.ofPlatform().daemon().name("backup-" + id).start(() -> execute(backup));
    LOG.log(Level.INFO, "base backup {0} started{1}", id,
        backup.label().isEmpty() ? "" : " (label " + backup.label() + ")");
    return backup;
  }

  /** Runs a base backup and waits for it; throws the reason it failed. */
  public BackupManifest create(String label) throws IOException {
    RunningBackup b = start(label);
    try {
      return b.result().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for base backup " + b.id(), e);
    } catch (ExecutionException e) {
      Throwable c = Causes.rethrow(e);
      throw new IOException(c.getMessage(), c);
    }
  }

  /** The running backup, if any. */
  public Optional<RunningBackup> running() {
    return Optional.ofNullable(running.get());
  }

  public BackupStatus status() {
    return new BackupStatus(running().map(RunningBackup::progress), Optional.ofNullable(last.get()),
        nextScheduledRun.get());
  }

  /** The last backup this agent finished (since it started), success or failure. */
  public Optional<BackupResult> lastResult() {
    return Optional.ofNullable(last.get());
  }

  private void execute(RunningBackup backup) {
    BackupManifest manifest = null;
    Throwable error = null;
    try {
      manifest = new BackupRun(backup, layout, storage, pipeline, postgres, settings.walWaitTimeout(),
          settings.progressInterval(), clock, agentVersion).run();
    } catch (Throwable t) {
      error = t;
    }
    Instant end = clock.instant();
    BackupResult result = new BackupResult(backup.id(), backup.label(), backup.startedAt(), end,
        backup.rawBytes.get(), backup.storedBytes.get(), Optional.ofNullable(manifest),
        Optional.ofNullable(error).map(t -> t.getMessage() == null ? t.toString() : t.getMessage()));
    if (error == null) {
      LOG.log(Level.INFO, "base backup {0} complete: {1} bytes plain, {2} stored, {3} s, "
          + "LSN {4} to {5}", backup.id(), Long.toString(manifest.rawSize()),
          Long.toString(manifest.storedSize()),
          Double.toString(result.duration().toMillis() / 1000.0), manifest.startLsn(),
          manifest.stopLsn());
    } else {
      LOG.log(Level.ERROR, "base backup " + backup.id() + " failed: " + result.error().get()
          + "; it is not listed", error instanceof IOException || error instanceof
          JobException ? null : error);
    }
    last.set(result);
    running.set(null);
    notify(l -> l.finished(result));
    if (error == null) {
      backup.result.complete(manifest);
      try {
        cleanupOrphans(ORPHAN_GRACE);
      } catch (IOException e) {
        LOG.log(Level.WARNING, "cleanup of unfinished backups failed: {0}", e.getMessage());
      }
    } else {
      backup.result.completeExceptionally(error);
    }
  }

  private void notify(Consumer<BackupListener> event) {
    for (BackupListener l : listeners) {
      try {
        event.accept(l);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "backup listener failed", e);
      }
    }
  }

  /** Complete backups, oldest first. Directories without backup.json are not backups. */
  public List<BackupManifest> list() throws IOException {
    var out = new ArrayList<BackupManifest>();
    for (var e : dirs.all().entrySet()) {
      if (e.getValue().hasManifest) {
        dirs.read(e.getKey()).ifPresent(out::add);
      }
    }
    return out;
  }

  /** The complete backup {@code id}, or empty. */
  public Optional<BackupManifest> show(String id) throws IOException {
    requireValid(id);
    return dirs.read(id);
  }

  /**
   * Deletes backup {@code id} (backup.json first, so it stops existing before its data goes).
   * Data of an unfinished backup can always be deleted; the only complete backup needs
   * {@code force}, since without it no restore is possible.
   */
  public void delete(String id, boolean force) throws IOException {
    requireValid(id);
    RunningBackup r = running.get();
    if (r != null && r.id().equals(id)) {
      throw JobException.conflict("base backup " + id + " is running; it cannot be "
          + "deleted until it ends").with("runningId", id);
    }
    BackupDirectories.Dir dir = dirs.all().get(id);
    if (dir == null) {
      throw JobException.notFound("no base backup " + id + " in " + storage.describe()
          + " under " + layout.baseRoot());
    }
    if (dir.keys.contains(layout.baseKeepMark(id))) {
      throw JobException.refused("base backup " + id + " is permanent (marked with pgsidecar"
          + " backup keep); release it first with pgsidecar backup release " + id).with("id", id);
    }
    if (dir.hasManifest && !force) {
      List<BackupManifest> complete = list();
      if (complete.size() == 1 && complete.getFirst().id().equals(id)) {
        throw JobException.refused("base backup " + id + " is the only complete base backup "
            + "of cluster " + layout.cluster() + "; deleting it leaves nothing to restore from. "
            + "Take another backup first, or force the delete (--force, ?force=true)");
      }
    }
    if (dir.hasManifest) {
      storage.delete(layout.baseManifest(id));
    }
    for (String key : dir.keys) {
      if (!key.equals(layout.baseManifest(id))) {
        storage.delete(key);
      }
    }
    LOG.log(Level.INFO, "base backup {0} deleted{1}", id, dir.hasManifest ? "" : " (unfinished)");
  }

  /**
   * Deletes the data of backups that never got a backup.json (failed, or the agent died) once
   * their newest object is older than {@code grace}; never the running one.
   *
   * @return the ids cleaned up
   */
  public List<String> cleanupOrphans(Duration grace) throws IOException {
    RunningBackup r = running.get();
    return dirs.removeUnfinished(clock.instant().minus(grace), r == null ? null : r.id());
  }

  /** @throws JobException INVALID_INPUT when {@code id} is not a backup id */
  static void requireValid(String id) {
    try {
      BackupIds.requireValid(id);
    } catch (IllegalArgumentException e) {
      throw JobException.invalidInput(e.getMessage());
    }
  }

  /** Cancels a running backup and refuses new ones. */
  @Override
  public void close() {
    closed = true;
    RunningBackup r = running.get();
    if (r != null) {
      r.cancel();
      try {
        r.result().handle((m, t) -> null).get(30, java.util.concurrent.TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.log(Level.WARNING, "base backup {0} did not stop within 30 s", r.id());
      }
    }
  }
}
