package io.pgsidecar.e2e;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.backup.BackupService;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.Backup;
import io.pgsidecar.core.config.PgsidecarConfig.Compression;
import io.pgsidecar.core.config.PgsidecarConfig.Dump;
import io.pgsidecar.core.config.PgsidecarConfig.Encryption;
import io.pgsidecar.core.config.PgsidecarConfig.Http;
import io.pgsidecar.core.config.PgsidecarConfig.Metrics;
import io.pgsidecar.core.config.PgsidecarConfig.Postgres;
import io.pgsidecar.core.config.PgsidecarConfig.Schedule;
import io.pgsidecar.core.config.PgsidecarConfig.StorageConfig;
import io.pgsidecar.core.config.PgsidecarConfig.Wal;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.Waits;
import io.pgsidecar.walarchiver.WalArchiver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;

/**
 * One pod played in a test: a PostgreSQL server whose archive_command is wal-archiver (a real
 * process) talking to the real agent (in this JVM) on its unix socket, over one storage and codec
 * pipeline shared with restores. The data directory has a fixed path, like a pod's volume, so a
 * server can be lost and restored in place while the agent keeps running.
 */
final class Pod implements AutoCloseable {

  static final String PREFIX = "e2e";

  final Path work;
  final String cluster;
  final Storage storage;
  final CodecPipeline pipeline;
  final Path pgdata;
  final Path socket;
  final PgsidecarConfig config;
  private Agent agent;
  PostgresCluster server;

  /**
   * @param work a directory the postgres user can traverse (the socket lives under it)
   */
  Pod(Path work, String cluster, Storage storage, CodecPipeline pipeline) throws IOException {
    this.work = Files.createDirectories(work.resolve(cluster));
    // The postgres user must traverse down to the data directory and the socket.
    for (Path p = this.work; p != null && !p.equals(p.getRoot()) && p.startsWith(work.getParent()); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    this.cluster = cluster;
    this.storage = storage;
    this.pipeline = pipeline;
    this.pgdata = this.work.resolve("pgdata");
    this.socket = this.work.resolve("run/agent.sock");
    this.config = config(0);
  }

  private PgsidecarConfig config(int pgPort) {
    return new PgsidecarConfig(cluster, pgdata, socket,
        new Http(Optional.empty(), Optional.empty(), Duration.ofSeconds(5)),
        new Postgres("127.0.0.1", pgPort == 0 ? 5432 : pgPort, "postgres", "postgres",
            Optional.empty(), PostgresCluster.defaultBinDir()),
        new StorageConfig(PgsidecarConfig.StorageType.FS, PREFIX, Optional.of(work.resolve("unused")),
            null, Duration.ofSeconds(30), 2),
        new Compression("zstd", 1, 0),
        new Encryption(List.of(), Optional.empty(), List.of(), Optional.empty()),
        new Wal(2, 8, 3, work.resolve("spool"), 256L * 1024 * 1024),
        new Backup(Duration.ofMinutes(2), Duration.ofSeconds(10)),
        new Dump(List.of(), List.of(), false),
        new Metrics(0, "127.0.0.1"),
        new Schedule(Optional.empty(), Optional.empty(), ZoneOffset.UTC));
  }

  RepositoryLayout layout() {
    return new RepositoryLayout(PREFIX, cluster);
  }

  private static Path walArchiverCopy;

  /**
   * wal-archiver as PostgreSQL runs it: java on a copy of its classes (directory or jar) in the
   * temp dir, because the build tree may sit where the postgres user cannot read (/root/...).
   */
  static synchronized String walArchiver() {
    try {
      if (walArchiverCopy == null) {
        Path built = Path.of(WalArchiver.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path dir = Files.createTempDirectory("pgsidecar-e2e-wal-archiver-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path copy = dir.resolve(built.getFileName());
        try (var files = Files.walk(built)) {
          for (Path f : (Iterable<Path>) files::iterator) {
            Path to = copy.resolve(built.relativize(f).toString());
            Files.copy(f, to);
            Files.setPosixFilePermissions(to, PosixFilePermissions.fromString(
                Files.isDirectory(to) ? "rwxr-xr-x" : "rw-r--r--"));
          }
        }
        walArchiverCopy = copy;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          try {
            deleteTree(dir);
          } catch (IOException ignored) {
            // temp dir: best effort
          }
        }));
      }
      return String.join(" ", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-cp",
          walArchiverCopy.toString(), WalArchiver.class.getName());
    } catch (URISyntaxException | IOException e) {
      throw new IllegalStateException("cannot prepare wal-archiver for PostgreSQL: " + e, e);
    }
  }

  private static Path walArchiverLauncher;

  /**
   * The same as a launcher file: restore-init writes restore.wal-archiver into restore_command as
   * one shell-quoted path, as the pod's /pgsidecar/bin/wal-archiver is.
   */
  static synchronized String walArchiverLauncher() {
    try {
      if (walArchiverLauncher == null) {
        String command = walArchiver(); // copies the classes first
        Path launcher = walArchiverCopy.resolveSibling("wal-archiver");
        Files.writeString(launcher, "#!/bin/sh\nexec " + command + " \"$@\"\n");
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        walArchiverLauncher = launcher;
      }
      return walArchiverLauncher.toString();
    } catch (IOException e) {
      throw new IllegalStateException("cannot write the wal-archiver launcher: " + e, e);
    }
  }

  String archiveCommand() {
    return walArchiver() + " --socket " + socket + " push %p";
  }

  /** The settings every server of this pod runs with: archiving through the agent, small WAL. */
  PostgresCluster.Builder withPodSettings(PostgresCluster.Builder b) {
    return b.setting("archive_mode", "on")
        .setting("archive_command", archiveCommand())
        .setting("max_wal_size", "64MB")
        .setting("checkpoint_timeout", "30s")
        .setting("max_wal_senders", "4")
        .setting("log_min_messages", "info");
  }

  /** initdb into the pod's data directory, start it, then the agent. */
  Pod startNew() throws IOException {
    server = withPodSettings(PostgresCluster.builder().dataDir(pgdata)).build();
    server.start();
    startAgent();
    return this;
  }

  void startAgent() throws IOException {
    startAgent(config);
  }

  /**
   * The agent with {@code restore} in its configuration: its hook socket serves the WAL of
   * {@code restore.from-cluster} only when the agent's configuration names that cluster too (in a
   * pod, one ConfigMap for the agent and restore-init).
   */
  void startAgent(PgsidecarConfig.Restore restore) throws IOException {
    startAgent(withRestore(restore));
  }

  private void startAgent(PgsidecarConfig agentConfig) throws IOException {
    agent = new Agent(agentConfig, storage, pipeline);
    agent.start();
    Files.setOwner(socket, socket.getFileSystem().getUserPrincipalLookupService()
        .lookupPrincipalByName("postgres"));
  }

  /** A base backup through the agent's BackupService (pg_basebackup -X none streamed to storage). */
  BackupManifest backup(String label) throws IOException {
    BackupService service = BackupService.fromConfig(config(server.port()), storage, pipeline);
    try {
      return service.create(label);
    } finally {
      service.close();
    }
  }

  /** Closes the current segment and waits until the agent stored it; returns its name. */
  String archiveCurrentSegment() {
    String seg = server.switchWal();
    server.awaitArchived(seg, Duration.ofSeconds(120));
    return seg;
  }

  /** Moment now, as UTC ISO-8601 from the server's clock (commit timestamps use it). */
  String now() {
    return server.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC',"
        + " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
  }

  /** The disaster: immediate stop (no shutdown checkpoint, nothing more archived), PGDATA wiped. */
  void loseServer() throws IOException {
    server.crash();
    server.close();
    server = null;
    deleteTree(pgdata);
  }

  /** Starts PostgreSQL on what a restore put into the pod's data directory. */
  PostgresCluster startRestored() {
    server = withPodSettings(PostgresCluster.fromExistingDataDir(pgdata)).build();
    server.start();
    return server;
  }

  /** The restore settings a test passes to restore-init or RestoreJob. */
  PgsidecarConfig.Restore restore(Optional<String> time, Optional<String> lsn, Optional<String> xid,
      Optional<String> name, boolean immediate, Optional<String> fromCluster) {
    return new PgsidecarConfig.Restore(true, "latest", time, lsn, xid, name, immediate, false,
        "promote", "latest", fromCluster, walArchiverLauncher(), Optional.of(socket.toString()));
  }

  PgsidecarConfig.Restore restoreToTime(String time) {
    return restore(Optional.of(time), Optional.empty(), Optional.empty(), Optional.empty(), false,
        Optional.empty());
  }

  PgsidecarConfig withRestore(PgsidecarConfig.Restore r) {
    PgsidecarConfig c = config;
    return new PgsidecarConfig(c.cluster(), c.pgdata(), c.socket(), c.http(), c.postgres(),
        c.storage(), c.compression(), c.encryption(), c.wal(), c.backup(), c.dump(), c.metrics(),
        c.schedule(), r);
  }

  /** Waits until {@code pg} has left recovery; fails with its log tail otherwise. */
  static void awaitPromoted(PostgresCluster pg, Duration timeout) {
    Waits.until(timeout, Duration.ofMillis(200), () -> {
      try {
        return "f".equals(pg.sql("SELECT pg_is_in_recovery()"));
      } catch (IllegalStateException notYet) {
        return false; // still starting up
      }
    }, () -> "server did not leave recovery within " + timeout + "\n" + pg.logTail(60));
  }

  /**
   * Waits until the server's clock is {@code margin} past {@code time} (a {@link #now()}), so
   * that what is committed next is clearly after a recovery target taken at {@code time}.
   */
  void awaitClockPast(String time, Duration margin) {
    java.time.Instant after = java.time.Instant.parse(time).plus(margin);
    Waits.until(Duration.ofSeconds(30), Duration.ofMillis(20),
        () -> !java.time.Instant.parse(now()).isBefore(after),
        () -> "the server's clock did not pass " + after + " within 30 s (now " + now() + ")");
  }

  /** The timeline the server writes on now. */
  static long timeline(PostgresCluster pg) {
    return Long.parseLong(pg.sql("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"), 16);
  }

  boolean stored(String walFileName) throws IOException {
    return storage.stat(layout().walKey(walFileName, pipeline.suffix())).isPresent();
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
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

  @Override
  public void close() {
    try {
      if (server != null) {
        server.close();
      }
    } finally {
      if (agent != null) {
        agent.close();
      }
      try {
        deleteTree(work);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
