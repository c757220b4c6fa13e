package io.pgsidecar.agent.dump;

import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.agent.postgres.PgConnection;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Logical dumps of the agent's server: {@code pg_dumpall --globals-only}, then
 * {@code pg_dump -Fc -Z0} per database, each streamed from the child's stdout through SHA-256,
 * the codec pipeline (zstd, OpenPGP) and into storage. No temp files: memory stays constant
 * whatever the database size. {@code pg_dump}'s own compression is off because zstd after it
 * is both faster and smaller, and encryption needs uncompressed-looking input to stay cheap.
 *
 * <p>A dump exists once its {@code dump.json} is written, last. A failed run leaves a
 * {@code failure.json} with pg_dump's stderr instead, and the objects it had stored are removed.
 * One run at a time per agent: a second request is refused with the running id.
 */
public final class DumpService {

  private static final System.Logger LOG = System.getLogger(DumpService.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String FAILURE_FILE = "failure.json";

  private final Storage storage;
  private final CodecPipeline pipeline;
  private final RepositoryLayout layout;
  private final PgTool tool;
  private final PgConnection server;
  private final PgsidecarConfig.Dump config;
  private final Executor executor;
  private final Clock clock;
  private final Supplier<Optional<String>> runningBackup;
  private final AtomicReference<DumpStatus> running = new AtomicReference<>();
  private volatile Listener listener = new Listener() {};

  /** Told how each run ends: the seam for metrics (last success/failure, duration, sizes). */
  public interface Listener {
    /** A run was reserved and starts now (the {@code running} gauge). */
    default void started(DumpStatus status) {}

    default void succeeded(DumpManifest manifest, java.time.Duration took) {}

    default void failed(DumpStatus.Failure failure, java.time.Duration took) {}
  }

  /**
   * @param executor runs {@link #start} requests (a virtual-thread executor in the agent)
   * @param runningBackup id of a base backup in progress, if any; consulted unless
   *     {@code dump.allow-overlap-with-backup} is set
   */
  public DumpService(Storage storage, CodecPipeline pipeline, RepositoryLayout layout, PgTool tool,
      PgConnection server, PgsidecarConfig.Dump config, Executor executor, Clock clock,
      Supplier<Optional<String>> runningBackup) {
    this.storage = storage;
    this.pipeline = pipeline;
    this.layout = layout;
    this.tool = tool;
    this.server = server;
    this.config = config;
    this.executor = executor;
    this.clock = clock;
    this.runningBackup = runningBackup;
  }

  /**
   * The agent's wiring: the server of {@code postgres.*}, the client programs of
   * {@code postgres.bin-dir}, the repository of {@code storage.prefix} and {@code cluster}.
   */
  public static DumpService forConfig(PgsidecarConfig config, Storage storage,
      CodecPipeline pipeline, Executor executor, Supplier<Optional<String>> runningBackup)
      throws IOException {
    return new DumpService(storage, pipeline,
        new RepositoryLayout(config.storage().prefix(), config.cluster()),
        new PgTool(config.postgres().binDir()), PgConnection.fromConfig(config.postgres()),
        config.dump(), executor, Clock.systemUTC(), runningBackup);
  }

  /** Replaces the listener (one; the agent wires its metrics here). */
  public void listener(Listener newListener) {
    this.listener = newListener;
  }

  /** The dump in progress in this agent, if any. */
  public Optional<DumpStatus> running() {
    return Optional.ofNullable(running.get());
  }

  /** Dumps {@code databases} (empty = the configured selection) and returns the manifest. */
  public DumpManifest create(List<String> databases, String label) throws IOException {
    DumpStatus run = reserve(label);
    try {
      return newRun(run.progress()).run(run.id(), databases, label == null ? "" : label);
    } finally {
      running.set(null);
    }
  }

  /** A dump started by {@link #start}: its running status and how it ends. */
  public record Started(DumpStatus status, CompletableFuture<DumpManifest> result) {}

  /** Starts a dump on the executor and returns at once with its id; see {@link #show}. */
  public Started start(List<String> databases, String label) throws IOException {
    DumpStatus run = reserve(label);
    CompletableFuture<DumpManifest> result = new CompletableFuture<>();
    try {
      executor.execute(() -> {
        try {
          result.complete(newRun(run.progress()).run(run.id(), databases, label == null ? "" : label));
        } catch (IOException | RuntimeException e) {
          result.completeExceptionally(e);
        } finally {
          running.set(null);
        }
      });
    } catch (RuntimeException e) {
      running.set(null);
      throw e;
    }
    return new Started(run, result);
  }

  /** Every dump in the repository, oldest first, complete or not. */
  public List<DumpStatus> list() throws IOException {
    TreeSet<String> ids = new TreeSet<>(BackupIds.ORDER);
    try (Stream<ObjectInfo> objects = storage.list(layout.dumpRoot())) {
      objects.forEach(o -> {
        String rest = o.key().substring(layout.dumpRoot().length());
        int slash = rest.indexOf('/');
        if (slash > 0 && BackupIds.isValid(rest.substring(0, slash))) {
          ids.add(rest.substring(0, slash));
        }
      });
    }
    DumpStatus now = running.get();
    if (now != null) {
      ids.add(now.id());
    }
    List<DumpStatus> out = new ArrayList<>();
    for (String id : ids) {
      show(id).ifPresent(out::add);
    }
    return out;
  }

  /** One dump, or empty when neither this agent nor the repository knows the id. */
  public Optional<DumpStatus> show(String id) throws IOException {
    DumpIds.require(id);
    DumpStatus now = running.get();
    if (now != null && now.id().equals(id)) {
      return Optional.of(now);
    }
    Optional<DumpManifest> manifest = readManifest(id);
    if (manifest.isPresent()) {
      return Optional.of(DumpStatus.complete(manifest.get()));
    }
    Optional<InputStream> failure = storage.open(layout.dumpDir(id) + FAILURE_FILE);
    if (failure.isPresent()) {
      try (InputStream in = failure.get()) {
        return Optional.of(DumpStatus.failed(JSON.readValue(in, DumpStatus.Failure.class)));
      }
    }
    try (Stream<ObjectInfo> objects = storage.list(layout.dumpDir(id))) {
      return objects.findAny().isPresent() ? Optional.of(DumpStatus.incomplete(id)) : Optional.empty();
    }
  }

  /** The manifest of a complete dump. */
  public Optional<DumpManifest> readManifest(String id) throws IOException {
    String key = layout.dumpManifest(DumpIds.require(id));
    Optional<InputStream> in = storage.open(key);
    if (in.isEmpty()) {
      return Optional.empty();
    }
    try (InputStream json = in.get()) {
      return Optional.of(DumpManifest.fromJson(json.readAllBytes(), key));
    }
  }

  /**
   * Deletes every object of dump {@code id}, {@code dump.json} first so that a half-deleted dump
   * is never offered as complete. Returns false when there was nothing to delete.
   */
  public boolean delete(String id) throws IOException {
    DumpIds.require(id);
    DumpStatus now = running.get();
    if (now != null && now.id().equals(id)) {
      throw JobException.conflict("dump " + id + " is still running; delete it once it has"
          + " finished").with("runningId", id);
    }
    if (storage.stat(layout.dumpKeepMark(id)).isPresent()) {
      throw JobException.refused("dump " + id + " is permanent (marked with pgsidecar dump"
          + " keep); release it first with pgsidecar dump release " + id).with("id", id);
    }
    boolean any = storage.delete(layout.dumpManifest(id));
    List<String> keys;
    try (Stream<ObjectInfo> objects = storage.list(layout.dumpDir(id))) {
      keys = objects.map(ObjectInfo::key).toList();
    }
    for (String key : keys) {
      any |= storage.delete(key);
    }
    return any;
  }

  private DumpStatus reserve(String label) throws IOException {
    if (!config.allowOverlapWithBackup()) {
      Optional<String> backup = runningBackup.get();
      if (backup.isPresent()) {
        throw JobException.conflict("base backup " + backup.get() + " is running and"
            + " dump.allow-overlap-with-backup is false; retry after it has finished")
            .with("runningId", backup.get());
      }
    }
    String id = BackupIds.next(clock.instant(), this::taken);
    DumpStatus run = DumpStatus.running(id, label == null ? "" : label, clock.instant());
    if (!running.compareAndSet(null, run)) {
      DumpStatus other = running.get();
      String otherId = other == null ? "?" : other.id();
      throw JobException.conflict("dump " + otherId + " is running; one dump runs at a time,"
          + " retry after it has finished").with("runningId", otherId);
    }
    notify(() -> listener.started(run));
    return run;
  }

  private boolean taken(String id) throws IOException {
    try (Stream<ObjectInfo> objects = storage.list(layout.dumpDir(id))) {
      return objects.findAny().isPresent();
    }
  }

  private DumpRun newRun(DumpStatus.Progress progress) {
    return new DumpRun(storage, pipeline, layout, tool, server, config, clock, listener, progress);
  }

  /** The databases to dump: those asked for, else the configured include list minus excludes. */
  List<String> select(List<String> requested, List<String> available) {
    return DumpRun.select(config, server, requested, available);
  }

  /** A listener's failure must not turn a dump's outcome into another one. */
  static void notify(Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "dump listener failed: " + e);
    }
  }
}
