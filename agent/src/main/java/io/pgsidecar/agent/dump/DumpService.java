package io.pgsidecar.agent.dump;

import io.pgsidecar.agent.storage.EncodingInputStream;
import io.pgsidecar.core.io.DigestingInputStream;
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
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
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
   *     {@code dump.allowOverlapWithBackup} is set
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
   * {@code postgres.binDir}, the repository of {@code storage.prefix} and {@code cluster}.
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
      return run(run.id(), databases, label == null ? "" : label);
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
          result.complete(run(run.id(), databases, label == null ? "" : label));
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
            + " dump.allowOverlapWithBackup is false; retry after it has finished")
            .with("runningId", backup.get());
      }
    }
    String id = BackupIds.next(clock.instant(), this::taken);
    DumpStatus run = DumpStatus.running(id, label == null ? "" : label);
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

  private DumpManifest run(String id, List<String> requested, String label) throws IOException {
    Instant start = clock.instant();
    List<String> stored = new ArrayList<>();
    String current = "the server";
    try {
      String version = tool.run("psql", server, List.of("-XAtq", "-c", "show server_version"),
          "reading server_version of " + server.describe()).strip();
      List<String> databases = select(requested, connectableDatabases());
      LOG.log(Level.INFO, "dump " + id + ": globals and " + databases.size() + " database(s) "
          + databases + " of " + server.describe() + " to " + storage.describe());

      current = "globals";
      List<String> globalsArgs = new ArrayList<>(List.of("--globals-only"));
      if (!server.database().isEmpty()) {
        globalsArgs.add("--database=" + server.database());
      }
      DumpManifest.Entry globals = upload("pg_dumpall", server, globalsArgs,
          layout.dumpGlobals(id, pipeline.suffix()), "globals", stored);

      List<DumpManifest.Entry> entries = new ArrayList<>();
      for (String database : databases) {
        current = database;
        entries.add(upload("pg_dump", server.withDatabase(database),
            List.of("--format=custom", "--compress=0"),
            layout.dumpDatabase(id, objectName(database), pipeline.suffix()), database, stored));
      }

      DumpManifest manifest = new DumpManifest(DumpManifest.FORMAT, id, label, layout.cluster(),
          version, start.toString(), clock.instant().toString(), globals, entries, agentVersion());
      byte[] json = manifest.toJson();
      storage.create(layout.dumpManifest(id), new java.io.ByteArrayInputStream(json),
          () -> new ObjectMetadata(sha256(json), json.length, "", ""));
      LOG.log(Level.INFO, "dump " + id + " complete: " + manifest.rawSize() + " bytes dumped, "
          + manifest.storedSize() + " stored");
      notify(() -> listener.succeeded(manifest, java.time.Duration.between(start, clock.instant())));
      return manifest;
    } catch (IOException | RuntimeException e) {
      throw fail(id, label, start, current, e, stored);
    }
  }

  /**
   * Streams one child's stdout into storage. The child's exit status is checked when its output
   * ends, before the storage driver commits, so a failed pg_dump never becomes an object.
   */
  private DumpManifest.Entry upload(String program, PgConnection connection, List<String> args,
      String key, String name, List<String> stored) throws IOException {
    try (PgTool.Child child = tool.start(program, connection, args)) {
      child.process().getOutputStream().close();
      String what = "dumping " + name + " of " + connection.describe();
      DigestingInputStream plain = new DigestingInputStream(new ExitCheckingInputStream(child, what));
      ObjectInfo info;
      try (InputStream encoded = new EncodingInputStream(plain, pipeline)) {
        info = storage.create(key, encoded, () -> new ObjectMetadata(plain.sha256Hex(),
            plain.size(), pipeline.name(), pipeline.keyFingerprint()));
      }
      stored.add(key);
      return new DumpManifest.Entry(name, key, info.metadata().plainSize(), info.storedSize(),
          info.metadata().plainSha256(), info.metadata().codec(), info.metadata().keyFingerprint());
    }
  }

  private List<String> connectableDatabases() throws IOException {
    String out = tool.run("psql", server, List.of("-XAtq0", "-c",
        "select datname from pg_database where datallowconn and not datistemplate order by datname"),
        "listing the databases of " + server.describe());
    return Arrays.stream(out.split("\0")).map(s -> s.replaceFirst("\n$", ""))
        .filter(s -> !s.isEmpty()).toList();
  }

  /** The databases to dump: those asked for, else the configured include list minus excludes. */
  List<String> select(List<String> requested, List<String> available) {
    if (requested != null && !requested.isEmpty()) {
      for (String db : requested) {
        if (!available.contains(db)) {
          throw new IllegalArgumentException("database " + db + " does not exist on "
              + server.describe() + " or does not allow connections; connectable databases: "
              + available);
        }
      }
      return List.copyOf(new LinkedHashSet<>(requested));
    }
    List<String> chosen = config.include().isEmpty() ? available
        : available.stream().filter(config.include()::contains).toList();
    chosen = chosen.stream().filter(db -> !config.exclude().contains(db)).toList();
    if (chosen.isEmpty()) {
      throw new IllegalArgumentException("no database to dump on " + server.describe()
          + ": connectable " + available + ", dump.include " + config.include()
          + ", dump.exclude " + config.exclude());
    }
    return chosen;
  }

  /**
   * The failure of dump {@code id} as a job's failure: STORAGE_UNAVAILABLE when storage failed,
   * else FAILED; details {@code id} and {@code stderr} (a PostgreSQL program's own words), as
   * stored in {@code failure.json}.
   */
  private JobException fail(String id, String label, Instant start, String object,
      Exception e, List<String> stored) {
    // A storage driver may wrap the client program's failure; the program's words are the story.
    String stderr = "";
    String cause = e.getMessage();
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof PgTool.PgToolException tool) {
        stderr = tool.stderr();
        cause = tool.getMessage();
        break;
      }
    }
    String message = "dump " + id + " failed on " + object + ": " + cause;
    DumpStatus.Failure failure = new DumpStatus.Failure(id, label, start.toString(),
        clock.instant().toString(), object, message, stderr);
    LOG.log(Level.ERROR, message);
    for (String key : stored) {
      try {
        storage.delete(key);
      } catch (IOException cleanup) {
        LOG.log(Level.WARNING, "could not remove " + key + " of failed dump " + id + ": "
            + cleanup.getMessage());
      }
    }
    try {
      byte[] json = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(failure);
      storage.create(layout.dumpDir(id) + FAILURE_FILE, new java.io.ByteArrayInputStream(json),
          () -> new ObjectMetadata(sha256(json), json.length, "", ""));
    } catch (IOException record) {
      LOG.log(Level.WARNING, "could not store the failure record of dump " + id + ": "
          + record.getMessage());
    }
    notify(() -> listener.failed(failure, java.time.Duration.between(start, clock.instant())));
    boolean storage = stderr.isEmpty() && causedByStorage(e);
    return new JobException(storage ? JobException.Kind.STORAGE_UNAVAILABLE : JobException.Kind.FAILED,
        message, java.util.Map.of(), e).with("id", id).with("stderr", stderr);
  }

  private static boolean causedByStorage(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof io.pgsidecar.core.storage.StorageException) {
        return true;
      }
    }
    return false;
  }

  /** A listener's failure must not turn a dump's outcome into another one. */
  private static void notify(Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "dump listener failed: " + e);
    }
  }

  /**
   * Database names may hold any character; keys keep letters, digits, {@code _ . -} and
   * percent-encode the rest (UTF-8), so {@code a/b} cannot open a folder.
   */
  static String objectName(String database) {
    StringBuilder sb = new StringBuilder();
    for (byte b : database.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '_' || c == '-' || (c == '.' && sb.length() > 0)) {
        sb.append(c);
      } else {
        sb.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return sb.toString();
  }

  static String sha256(byte[] bytes) {
    try {
      return java.util.HexFormat.of().formatHex(
          java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String agentVersion() {
    String v = DumpService.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
