package io.pgsidecar.agent.dump;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.agent.postgres.PgConnection;
import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.agent.storage.EncodingInputStream;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.io.DigestingInputStream;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * The steps of one dump ({@link DumpService} reserves it and runs it): the server's version, the
 * databases to dump, globals, each database, {@code dump.json} last; on a failure the objects
 * stored so far are removed and {@code failure.json} records why.
 */
final class DumpRun {

  private static final System.Logger LOG = System.getLogger(DumpService.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Storage storage;
  private final CodecPipeline pipeline;
  private final RepositoryLayout layout;
  private final PgTool tool;
  private final PgConnection server;
  private final PgsidecarConfig.Dump config;
  private final Clock clock;
  private final DumpService.Listener listener;
  private final DumpStatus.Progress progress;

  DumpRun(Storage storage, CodecPipeline pipeline, RepositoryLayout layout, PgTool tool,
      PgConnection server, PgsidecarConfig.Dump config, Clock clock, DumpService.Listener listener,
      DumpStatus.Progress progress) {
    this.storage = storage;
    this.pipeline = pipeline;
    this.layout = layout;
    this.tool = tool;
    this.server = server;
    this.config = config;
    this.clock = clock;
    this.listener = listener;
    this.progress = progress;
  }

  DumpManifest run(String id, List<String> requested, String label) throws IOException {
    Instant start = clock.instant();
    List<String> stored = new ArrayList<>();
    String current = "the server";
    try {
      String version = tool.run("psql", server, List.of("-XAtq", "-c", "show server_version"),
          "reading server_version of " + server.describe()).strip();
      List<String> databases = select(config, server, requested, connectableDatabases());
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
            layout.dumpDatabase(id, DumpNames.objectName(database), pipeline.suffix()), database, stored));
      }

      DumpManifest manifest = new DumpManifest(DumpManifest.FORMAT, id, label, layout.cluster(),
          version, start.toString(), clock.instant().toString(), globals, entries, DumpNames.agentVersion());
      byte[] json = manifest.toJson();
      storage.create(layout.dumpManifest(id), new java.io.ByteArrayInputStream(json),
          () -> new ObjectMetadata(DumpNames.sha256(json), json.length, "", ""));
      LOG.log(Level.INFO, "dump " + id + " complete: " + manifest.rawSize() + " bytes dumped, "
          + manifest.storedSize() + " stored");
      DumpService.notify(() -> listener.succeeded(manifest, java.time.Duration.between(start, clock.instant())));
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
      progress.object(name);
      DigestingInputStream plain = new DigestingInputStream(
          new ExitCheckingInputStream(child, what), progress::add);
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
  static List<String> select(PgsidecarConfig.Dump config, PgConnection server,
      List<String> requested, List<String> available) {
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
      storage.create(layout.dumpDir(id) + DumpService.FAILURE_FILE, new java.io.ByteArrayInputStream(json),
          () -> new ObjectMetadata(DumpNames.sha256(json), json.length, "", ""));
    } catch (IOException record) {
      LOG.log(Level.WARNING, "could not store the failure record of dump " + id + ": "
          + record.getMessage());
    }
    DumpService.notify(() -> listener.failed(failure, java.time.Duration.between(start, clock.instant())));
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
}
