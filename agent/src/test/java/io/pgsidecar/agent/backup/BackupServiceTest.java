package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.support.Await;
import io.pgsidecar.core.job.JobException;
import static io.pgsidecar.agent.backup.BackupFixtures.LAYOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Base backups of a real PostgreSQL 15 (pgbench -s 10, about 170 MB) into MemoryStorage and
 * FsStorage. WAL reaches storage the honest way: PostgreSQL's archive_command copies each
 * segment out, and {@link WalShipper} uploads it as the agent's WAL push would.
 */
class BackupServiceTest {

  static final Path ARCHIVE = BackupFixtures.archiveDir();

  @RegisterExtension
  static final PostgresCluster PG = BackupFixtures.archivingCluster(ARCHIVE).build();

  @TempDir
  Path tmp;

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeAll
  static void pgbench() {
    PG.pgbench("-i", "-s", "10", "-q");
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : toClose.reversed()) {
      c.close();
    }
  }

  private BackupService service(Storage storage, CodecPipeline pipeline, Duration walWait) {
    BackupService s = BackupFixtures.service(PG, storage, pipeline, walWait);
    toClose.add(s);
    return s;
  }

  private WalShipper shipper(Storage storage, CodecPipeline pipeline) {
    WalShipper w = new WalShipper(ARCHIVE, storage, LAYOUT, pipeline);
    toClose.add(w);
    return w;
  }

  @Test
  void backupToFilesystemWithEncryptionMatchesTheServerAndPassesPgVerifybackup() throws Exception {
    Path pass = Files.writeString(tmp.resolve("passphrase"), "correct horse battery staple\n");
    CodecPipeline pipeline = Pipelines.forConfig(new PgsidecarConfig.Compression("zstd", 3, 0),
        new PgsidecarConfig.Encryption(List.of(), Optional.of(pass), List.of(), Optional.empty()));
    Storage storage = new FsStorage(Files.createDirectories(tmp.resolve("repo")));
    shipper(storage, pipeline);
    BackupService service = service(storage, pipeline, Duration.ofSeconds(60));
    String lsnBefore = PG.sql("SELECT pg_current_wal_lsn()");

    BackupManifest m = service.create("nightly");

    assertEquals("nightly", m.label());
    assertEquals("db1", m.cluster());
    assertEquals(PG.sql("SELECT system_identifier FROM pg_control_system()"), m.systemIdentifier());
    assertEquals(PG.sqlLong("SHOW server_version_num"), m.pgVersion());
    assertEquals(1, m.timeline());
    Map<String, String> history = BackupFixtures.backupHistory(ARCHIVE, m.id());
    assertEquals(history.get("start"), m.startLsn(), "start LSN as the server's backup history");
    assertEquals(history.get("stop"), m.stopLsn(), "stop LSN as the server's backup history");
    assertTrue(WalPositions.parseLsn(m.startLsn()) >= WalPositions.parseLsn(lsnBefore));
    assertEquals(PG.sql("SELECT pg_walfile_name('" + m.startLsn() + "')"), m.walStartSegment());
    assertEquals("zstd+pgp", m.codec());
    assertEquals(pipeline.keyFingerprint(), m.keyFingerprint());
    assertEquals(LAYOUT.baseData(m.id(), ".zst.pgp"), m.dataKey());
    ObjectInfo stored = storage.stat(m.dataKey()).orElseThrow();
    assertEquals(stored.storedSize(), m.storedSize());
    try (InputStream in = storage.open(m.dataKey()).orElseThrow()) {
      assertEquals(BackupFixtures.sha256(in), m.storedSha256());
    }
    try (InputStream in = pipeline.decode(storage.open(m.dataKey()).orElseThrow(), m.codec(), "k")) {
      assertEquals(m.plainSha256(), BackupFixtures.sha256(in));
    }
    assertEquals(m.plainSha256(), stored.metadata().plainSha256());
    assertEquals(m.rawSize(), stored.metadata().plainSize());
    assertTrue(m.rawSize() > 100_000_000L, "pgbench -s 10 is over 100 MB: " + m.rawSize());
    assertTrue(m.storedSize() < m.rawSize() / 3, "zstd shrinks pgbench data: " + m.storedSize());
    assertEquals(List.of(m), service.list());
    assertEquals(Optional.of(m), service.show(m.id()));
    assertEquals(m, BackupManifest.fromJson(
        storage.open(LAYOUT.baseManifest(m.id())).orElseThrow().readAllBytes(), "k"));

    String verify = BackupFixtures.verifyWithPgVerifybackup(PG, storage, pipeline, m,
        tmp.resolve("verify"));
    assertTrue(verify.contains("backup successfully verified"), verify);
  }

  @Test
  void backupToMemoryStoragePassesPgVerifybackup() throws Exception {
    CodecPipeline pipeline = Pipelines.zstd(1);
    MemoryStorage storage = new MemoryStorage();
    shipper(storage, pipeline);
    BackupService service = service(storage, pipeline, Duration.ofSeconds(60));
    BackupManifest m = service.create("");
    assertEquals("zstd", m.codec());
    assertEquals("", m.keyFingerprint());
    String verify = BackupFixtures.verifyWithPgVerifybackup(PG, storage, pipeline, m,
        tmp.resolve("verify"));
    assertTrue(verify.contains("backup successfully verified"), verify);
    assertEquals(Optional.of(BackupResult.class), service.lastResult().map(Object::getClass));
    assertTrue(service.lastResult().orElseThrow().success());
  }

  @Test
  void concurrentCreateRunsExactlyOneAndTellsTheOtherItsId() throws Exception {
    CodecPipeline pipeline = Pipelines.zstd(1);
    MemoryStorage storage = new MemoryStorage();
    shipper(storage, pipeline);
    BackupService service = service(storage, pipeline, Duration.ofSeconds(60));
    CyclicBarrier barrier = new CyclicBarrier(2);
    List<CompletableFuture<Object>> attempts = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      attempts.add(CompletableFuture.supplyAsync(() -> {
        try {
          barrier.await();
          return service.start("race");
        } catch (JobException e) {
          return e;
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }));
    }
    List<RunningBackup> started = new ArrayList<>();
    List<JobException> refused = new ArrayList<>();
    for (var a : attempts) {
      Object r = a.get();
      if (r instanceof RunningBackup b) {
        started.add(b);
      } else {
        refused.add((JobException) r);
      }
    }
    assertEquals(1, started.size());
    assertEquals(1, refused.size());
    String id = started.getFirst().id();
    assertEquals(JobException.Kind.CONFLICT, refused.getFirst().kind());
    assertEquals(id, refused.getFirst().details().get("runningId"));
    assertTrue(refused.getFirst().getMessage().startsWith("base backup " + id + " is running"),
        refused.getFirst().getMessage());
    BackupManifest m = started.getFirst().result().get();
    assertEquals(List.of(m), service.list());
    // once it is done, the next one may start
    assertEquals(2, List.of(m, service.create("after")).size());
    assertEquals(2, service.list().size());
  }

  @Test
  void pgBasebackupFailureLeavesNothingListedAndLogsWhy() throws Exception {
    PG.sql("DROP ROLE IF EXISTS noreplication");
    PG.sql("CREATE ROLE noreplication LOGIN");
    MemoryStorage storage = new MemoryStorage();
    CodecPipeline pipeline = Pipelines.zstd(1);
    BackupService service = new BackupService(LAYOUT, storage, pipeline,
        BackupFixtures.postgres(PG, "noreplication", PG.port()),
        new PgsidecarConfig.Backup(Duration.ofSeconds(5), Duration.ofSeconds(1)),
        Clock.systemUTC());
    toClose.add(service);

    var e = assertThrows(IOException.class, () -> service.create("x"));

    assertTrue(e.getMessage().startsWith("pg_basebackup failed with exit code 1: "),
        e.getMessage());
    assertTrue(e.getMessage().contains(
        "FATAL:  must be superuser or replication role to start walsender"), e.getMessage());
    assertEquals(List.of(), service.list());
    assertEquals(List.of(), storage.list(LAYOUT.baseRoot()).toList());
    BackupResult last = service.lastResult().orElseThrow();
    assertFalse(last.success());
    assertEquals(Optional.of(e.getMessage()), last.error());
  }

  @Test
  void wrongPortFailsBeforeAnythingIsStored() throws Exception {
    int unused;
    try (var s = new java.net.ServerSocket(0)) {
      unused = s.getLocalPort();
    }
    MemoryStorage storage = new MemoryStorage();
    BackupService service = new BackupService(LAYOUT, storage, Pipelines.zstd(1),
        BackupFixtures.postgres(PG, "postgres", unused),
        new PgsidecarConfig.Backup(Duration.ofSeconds(5), Duration.ofSeconds(1)),
        Clock.systemUTC());
    toClose.add(service);

    var e = assertThrows(IOException.class, () -> service.create("x"));

    assertTrue(e.getMessage().startsWith("cannot query PostgreSQL before the backup (psql exit 2): "
        + "psql: error: connection to server at \"127.0.0.1\", port " + unused
        + " failed: Connection refused"), e.getMessage());
    assertTrue(e.getMessage().endsWith("; check postgres.host/port/user and the password"));
    assertEquals(List.of(), service.list());
    assertEquals(List.of(), storage.list(LAYOUT.baseRoot()).toList());
  }

  @Test
  void storageFailureMidStreamLeavesNothingListedAndTheNextBackupWorks() throws Exception {
    CodecPipeline pipeline = Pipelines.zstd(1);
    MemoryStorage memory = new MemoryStorage();
    FailingStorage storage = new FailingStorage(memory);
    shipper(memory, pipeline);
    BackupService service = service(storage, pipeline, Duration.ofSeconds(60));
    storage.failNextDataUploadAfter(2_000_000);

    var e = assertThrows(IOException.class, () -> service.create("doomed"));

    String id = service.lastResult().orElseThrow().id();
    assertEquals("storing base backup data " + LAYOUT.baseData(id, ".zst")
        + " failed: injected failure after 2000000 bytes", e.getMessage());
    assertEquals(List.of(), service.list());
    assertEquals(List.of(), memory.list(LAYOUT.baseRoot()).toList());
    assertTrue(ProcessHandle.current().descendants().noneMatch(p -> p.info().command()
        .orElse("").endsWith("pg_basebackup")), "pg_basebackup was stopped");

    BackupManifest next = service.create("after failure");
    assertEquals(List.of(next), service.list());
  }

  @Test
  void walNotArchivedInTimeFailsAndTheCleanupRemovesTheData() throws Exception {
    CodecPipeline pipeline = Pipelines.zstd(1);
    MemoryStorage storage = new MemoryStorage();
    WalShipper shipper = shipper(storage, pipeline);
    Thread.sleep(300); // ship what is archived already
    shipper.paused = true;
    BackupService service = service(storage, pipeline, Duration.ofSeconds(2));

    var e = assertThrows(IOException.class, () -> service.create("no wal"));

    String id = service.lastResult().orElseThrow().id();
    assertTrue(e.getMessage().matches("WAL segment [0-9A-F]{24} needed by base backup " + id
        + " was not archived within PT2S \\(1 of 1 segments missing\\); check archive_command "
        + "and the agent's WAL push log\\. The data stays unlisted and is removed by the orphan "
        + "cleanup"), e.getMessage());
    assertEquals(List.of(), service.list());
    assertTrue(storage.stat(LAYOUT.baseData(id, ".zst")).isPresent());
    assertEquals(List.of(), service.cleanupOrphans(Duration.ofHours(1)), "within the grace period");
    assertEquals(List.of(id), service.cleanupOrphans(Duration.ZERO));
    assertEquals(List.of(), storage.list(LAYOUT.baseRoot()).toList());
  }

  @Test
  void deleteRefusesTheOnlyCompleteBackupUnlessForced() throws Exception {
    CodecPipeline pipeline = Pipelines.zstd(1);
    MemoryStorage storage = new MemoryStorage();
    shipper(storage, pipeline);
    BackupService service = service(storage, pipeline, Duration.ofSeconds(60));
    BackupManifest first = service.create("one");

    var e = assertThrows(JobException.class, () -> service.delete(first.id(), false));
    assertEquals(JobException.Kind.REFUSED, e.kind());
    assertEquals("base backup " + first.id() + " is the only complete base backup of cluster db1; "
        + "deleting it leaves nothing to restore from. Take another backup first, or force the "
        + "delete (--force, ?force=true)", e.getMessage());

    BackupManifest second = service.create("two");
    service.delete(first.id(), false);
    assertEquals(List.of(second), service.list());
    service.delete(second.id(), true);
    assertEquals(List.of(), storage.list(LAYOUT.baseRoot()).toList());
    var missing = assertThrows(JobException.class, () -> service.delete(second.id(), true));
    assertEquals(JobException.Kind.NOT_FOUND, missing.kind());
    assertEquals("no base backup " + second.id() + " in memory:// under test/db1/base/",
        missing.getMessage());
  }

  @Test
  void clusterWithAnExtraTablespaceIsRefused() throws Exception {
    Path location = Files.createTempDirectory("pgsidecar-ts-");
    BackupFixtures.chownToPostgres(location);
    PG.sql("CREATE TABLESPACE extra LOCATION '" + location + "'");
    try {
      MemoryStorage storage = new MemoryStorage();
      BackupService service = service(storage, Pipelines.zstd(1), Duration.ofSeconds(5));
      var e = assertThrows(JobException.class, () -> service.create("ts"));
      assertEquals(JobException.Kind.REFUSED, e.kind());
      String id = service.lastResult().orElseThrow().id();
      assertEquals("base backup " + id + " refused: the cluster has tablespaces other than "
          + "pg_default and pg_global (extra); pgsidecar cannot back them up yet. Move their "
          + "objects to pg_default (ALTER TABLE ... SET TABLESPACE pg_default) and drop them, or "
          + "back up with another tool", e.getMessage());
      assertEquals(List.of(), storage.list(LAYOUT.baseRoot()).toList());
    } finally {
      PG.sql("DROP TABLESPACE extra");
    }
  }

  @Test
  void stoppingTheServiceCancelsTheRunningBackupAndNothingIsListed() throws Exception {
    CodecPipeline pipeline = Pipelines.zstd(1);
    MemoryStorage storage = new MemoryStorage();
    BackupService service = service(storage, pipeline, Duration.ofSeconds(60));
    RunningBackup b = service.start("cancelled");
    Await.until("the backup read 10 MB", Duration.ofSeconds(120),
        () -> b.progress().rawBytes() >= 10_000_000);
    service.close();
    var e = assertThrows(ExecutionException.class, () -> b.result().get());
    assertEquals("base backup " + b.id() + " cancelled (agent stopping or asked to cancel)",
        e.getCause().getMessage());
    assertEquals(List.of(), storage.list(LAYOUT.baseRoot()).toList());
    assertTrue(ProcessHandle.current().descendants().noneMatch(p -> p.info().command()
        .orElse("").endsWith("pg_basebackup")), "pg_basebackup was stopped");
  }

  @Test
  void agentKilledMidBackupLeavesNothingListedAndTheNextBackupWorks() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    String javaBin = ProcessHandle.current().info().command().orElseThrow();
    Process child = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp",
        System.getProperty("java.class.path"), BackupChild.class.getName(), repo.toString(),
        Integer.toString(PG.port()), PG.binDir().toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      var out = new java.io.BufferedReader(new java.io.InputStreamReader(child.getInputStream()));
      String started = out.readLine();
      assertTrue(started != null && started.startsWith("STARTED "), String.valueOf(started));
      // wait until the stored stream is well under way (FsStorage's temp file grows)
      Await.until("the child's backup got going", Duration.ofSeconds(30), () -> {
        assertTrue(child.isAlive(), "the child ended before it was killed");
        return storedSoFar(repo) >= 1_000_000;
      });
      List<ProcessHandle> pgBasebackup = child.descendants().toList();
      child.destroyForcibly(); // SIGKILL
      child.waitFor();
      for (ProcessHandle p : pgBasebackup) {
        p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS); // dies on the broken pipe
      }
    } finally {
      child.destroyForcibly();
    }
    CodecPipeline pipeline = Pipelines.zstd(1);
    Storage storage = new FsStorage(repo);
    BackupService service = service(storage, pipeline, Duration.ofSeconds(60));
    assertEquals(List.of(), service.list());
    assertEquals(List.of(), storage.list(LAYOUT.baseRoot()).toList(), "no object appeared");
    shipper(storage, pipeline);
    BackupManifest next = service.create("after kill");
    assertEquals(List.of(next), service.list());
  }

  @Test
  void backupRunsInA64MiBHeapWhateverTheDatabaseSize() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    Storage storage = new FsStorage(repo);
    shipper(storage, Pipelines.zstd(1));
    String javaBin = ProcessHandle.current().info().command().orElseThrow();
    Process child = new ProcessBuilder(javaBin, "-Xmx64m", "--enable-native-access=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"), BackupChild.class.getName(),
        repo.toString(), Integer.toString(PG.port()), PG.binDir().toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      String out = new String(child.getInputStream().readAllBytes());
      assertEquals(0, child.waitFor(), out);
      assertTrue(out.lines().anyMatch(l -> l.startsWith("FINISHED ")), out);
      System.out.println("base backup of pgbench -s 10 with -Xmx64m: " + out.strip());
    } finally {
      child.destroyForcibly();
    }
    BackupManifest m = service(storage, Pipelines.zstd(1), Duration.ofSeconds(5)).list()
        .getFirst();
    assertTrue(m.rawSize() > 100_000_000L, "more data than heap: " + m.rawSize());
  }

  @Test
  void passwordReachesPgBasebackupOnlyThroughItsEnvironment() throws Exception {
    // scram for this one role (first matching pg_hba line wins), trust for the rest
    Path hba = PG.pgdata().resolve("pg_hba.conf");
    String rules = "host all pwuser 127.0.0.1/32 scram-sha-256\n"
        + "host replication pwuser 127.0.0.1/32 scram-sha-256\n";
    if (!Files.readString(hba).startsWith(rules)) {
      Files.writeString(hba, rules + Files.readString(hba));
    }
    PG.sql("SELECT pg_reload_conf()");
    PG.sql("DROP ROLE IF EXISTS pwuser");
    PG.sql("CREATE ROLE pwuser LOGIN REPLICATION PASSWORD 'S3cret-pw'");
    Path passfile = tmp.resolve("pgpass");
    Files.writeString(passfile, "127.0.0.1:" + PG.port() + ":*:pwuser:S3cret-pw\n");
    Files.setPosixFilePermissions(passfile,
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    CodecPipeline pipeline = Pipelines.zstd(1);
    MemoryStorage storage = new MemoryStorage();
    shipper(storage, pipeline);
    var logged = new java.util.concurrent.ConcurrentLinkedQueue<String>();
    var handler = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord r) {
        logged.add(new java.util.logging.SimpleFormatter().formatMessage(r));
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    var logger = java.util.logging.Logger.getLogger("io.pgsidecar.agent.backup");
    logger.addHandler(handler);
    try {
      var viaPassfile = new PgsidecarConfig.Postgres("127.0.0.1", PG.port(), "pwuser", "postgres",
          Optional.of(passfile), PG.binDir());
      BackupService s1 = new BackupService(LAYOUT, storage, pipeline, viaPassfile,
          new PgsidecarConfig.Backup(Duration.ofSeconds(60), Duration.ofSeconds(1)),
          Clock.systemUTC());
      toClose.add(s1);
      assertEquals("pwuser-passfile", s1.create("pwuser-passfile").label());

      var viaEnv = new PgsidecarConfig.Postgres("127.0.0.1", PG.port(), "pwuser", "postgres",
          Optional.empty(), PG.binDir(), Optional.of("S3cret-pw"));
      BackupService s2 = new BackupService(LAYOUT, storage, pipeline, viaEnv,
          new PgsidecarConfig.Backup(Duration.ofSeconds(60), Duration.ofSeconds(1)),
          Clock.systemUTC());
      toClose.add(s2);
      assertEquals("pwuser-env", s2.create("pwuser-env").label());

      var wrong = new PgsidecarConfig.Postgres("127.0.0.1", PG.port(), "pwuser", "postgres",
          Optional.empty(), PG.binDir(), Optional.of("not-it"));
      BackupService s3 = new BackupService(LAYOUT, storage, pipeline, wrong,
          new PgsidecarConfig.Backup(Duration.ofSeconds(60), Duration.ofSeconds(1)),
          Clock.systemUTC());
      toClose.add(s3);
      var e = assertThrows(IOException.class, () -> s3.create("wrong"));
      assertTrue(e.getMessage().contains("password authentication failed for user \"pwuser\""),
          e.getMessage());
    } finally {
      logger.removeHandler(handler);
    }
    assertTrue(logged.stream().anyMatch(l -> l.contains("starting ") && l.contains("pg_basebackup")),
        "the command line is logged: " + logged);
    assertTrue(logged.stream().noneMatch(l -> l.contains("S3cret-pw") || l.contains("not-it")),
        "no password in any log line: " + logged);
  }

  private static long storedSoFar(Path repo) throws IOException {
    try (var files = Files.walk(repo)) {
      return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
    }
  }
}
