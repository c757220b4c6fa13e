package io.pgsidecar.agent.wal;

import io.pgsidecar.testkit.Waits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.Compression;
import io.pgsidecar.core.config.PgsidecarConfig.Encryption;
import io.pgsidecar.core.config.PgsidecarConfig.StorageConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.wal.WalFileName;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WAL archiving with nothing faked: a real PostgreSQL 15 whose archive_command and
 * restore_command are the real wal-archiver process, the real {@link Agent} in-process, the real
 * zstd pipeline (plus OpenPGP with a passphrase on Azure), storing into a real
 * {@link FsStorage} or a real {@link AzureStorage} on Azurite. What an operator relies on: every
 * segment PostgreSQL was told is archived really is, byte for byte; outages of the agent or of
 * the storage only delay archiving; nothing is ever overwritten; and recovery never ends early
 * because the storage was down.
 */
class WalArchivingRealComponentsTest {

  private static final Duration ARCHIVE_TIMEOUT = Duration.ofSeconds(240);
  private static final RepositoryLayout LAYOUT = new RepositoryLayout("prod", "db1");
  private static Azurite azurite;

  @TempDir Path work;

  @BeforeAll
  static void startAzurite() throws IOException {
    azurite = Azurite.launch();
  }

  @AfterAll
  static void stopAzurite() {
    if (azurite != null) {
      azurite.close();
    }
  }

  // ---- the tests -------------------------------------------------------------------------------

  @Test
  void everySegmentPostgresMarkedDoneIsInTheFilesystemRepositoryAndFetchesBackByteIdentical()
      throws Exception {
    bulkLoadArchivesEverySegment(fsRepo(work.resolve("repo")));
  }

  @Test
  void everySegmentPostgresMarkedDoneIsInAzuriteEncryptedAndFetchesBackByteIdentical()
      throws Exception {
    Repo repo = azureRepo();
    List<String> done = bulkLoadArchivesEverySegment(repo);
    for (String name : done) {
      ObjectInfo info = repo.storage().stat(LAYOUT.walKey(name, ".zst.pgp")).orElseThrow();
      assertEquals("zstd+pgp", info.metadata().codec(), name);
    }
  }

  @Test
  void whileTheAgentIsStoppedReadyFilesPileUpAndAfterItRestartsEverySegmentArrives()
      throws Exception {
    Repo repo = fsRepo(work.resolve("repo"));
    WalArchiverCommand wa = new WalArchiverCommand(socket(work));
    try (PostgresCluster pg = archivingServer(wa).start()) {
      PgsidecarConfig cfg = config(pg.pgdata(), work, repo);
      Agent agent = startAgent(cfg, repo);
      pg.pgbench("-i", "-s", "2", "-q");
      pg.awaitArchived(pg.switchWal(), ARCHIVE_TIMEOUT);
      agent.close();

      long failedBefore = pg.sqlLong("SELECT failed_count FROM pg_stat_archiver");
      List<String> pending = writeSegmentsWhileArchivingFails(pg, failedBefore);
      assertTrue(logContains(pg, "(PostgreSQL will retry the segment; check that the pgsidecar"
          + " agent is running)"), pg.logTail(20));

      try (Agent again = startAgent(cfg, repo)) {
        String last = wakeArchiver(pg);
        pg.awaitArchived(last, ARCHIVE_TIMEOUT);
        List<String> done = assertEveryDoneSegmentStoredAndByteIdentical(pg, cfg, repo);
        assertTrue(done.containsAll(pending), "pending " + pending + " archived " + done);
        assertEquals(List.of(), statusFiles(pg, ".ready"));
      }
    }
  }

  @Test
  void whileAzuriteIsStoppedReadyFilesPileUpAndAfterItRestartsEverySegmentArrives()
      throws Exception {
    Repo repo = azureRepo();
    WalArchiverCommand wa = new WalArchiverCommand(socket(work));
    try (PostgresCluster pg = archivingServer(wa).start()) {
      PgsidecarConfig cfg = config(pg.pgdata(), work, repo);
      try (Agent agent = startAgent(cfg, repo)) {
        pg.pgbench("-i", "-s", "2", "-q");
        pg.awaitArchived(pg.switchWal(), ARCHIVE_TIMEOUT);
        azurite.stop();
        List<String> pending;
        try {
          pending = writeSegmentsWhileArchivingFails(pg,
              pg.sqlLong("SELECT failed_count FROM pg_stat_archiver"));
          assertTrue(logContains(pg, "answered HTTP 503"), pg.logTail(20));
        } finally {
          azurite.start();
        }
        String last = wakeArchiver(pg);
        pg.awaitArchived(last, ARCHIVE_TIMEOUT);
        List<String> done = assertEveryDoneSegmentStoredAndByteIdentical(pg, cfg, repo);
        assertTrue(done.containsAll(pending), "pending " + pending + " archived " + done);
      }
    }
  }

  @Test
  void segmentWithOtherContentUnderTheSameNameIsRefusedAndTheStoredObjectStaysUntouched()
      throws Exception {
    Repo repo = fsRepo(work.resolve("repo"));
    WalArchiverCommand wa = new WalArchiverCommand(socket(work));
    try (PostgresCluster pg = archivingServer(wa).start()) {
      PgsidecarConfig cfg = config(pg.pgdata(), work, repo);
      try (Agent agent = startAgent(cfg, repo)) {
        pg.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g");
        String name = pg.switchWal();
        pg.awaitArchived(name, ARCHIVE_TIMEOUT);
        Path original = pg.pgdata().resolve("pg_wal").resolve(name);
        String key = LAYOUT.walKey(name, ".zst");
        String storedBefore = sha256(repo.storage().open(key).orElseThrow());

        // the same name with one byte changed, where the agent may read it (pg_wal, marked
        // .ready); a file anywhere else in PGDATA is not even read
        byte[] real = Files.readAllBytes(original);
        String realSha = sha256(original);
        byte[] other = real.clone();
        other[other.length / 2] ^= 0x5a;
        Path forged = Files.createDirectories(pg.pgdata().resolve("forged")).resolve(name);
        Files.write(forged, other);
        WalArchiverCommand.Result elsewhere = wa.run(pg.pgdata(), "push", "forged/" + name);
        assertEquals(1, elsewhere.exitCode(), elsewhere.stderr());
        assertTrue(elsewhere.stderr().contains("answered HTTP 400: path 'forged/" + name + "' is"
            + " not directly in pg_wal"), elsewhere.stderr());

        Path ready = pg.pgdata().resolve("pg_wal/archive_status/" + name + ".ready");
        Files.write(original, other);
        Files.write(ready, new byte[0]);
        WalArchiverCommand.Result r = wa.run(pg.pgdata(), "push", "pg_wal/" + name);

        assertEquals(1, r.exitCode(), r.stderr());
        assertTrue(r.stderr().contains("answered HTTP 409: refusing to archive WAL file " + name
            + ": the archive already holds " + key + " with SHA-256 " + realSha
            + " but " + original + " has SHA-256 " + sha256(forged)
            + "; nothing was overwritten."), r.stderr());
        assertEquals(storedBefore, sha256(repo.storage().open(key).orElseThrow()));
        assertEquals(realSha, sha256(UnixHttp.get(cfg.socket(), "/v1/wal/" + name).body()));
        // and the real segment pushed again (as after a crash, .ready still there) is simply
        // acknowledged
        Files.write(original, real);
        assertEquals(0, wa.run(pg.pgdata(), "push", "pg_wal/" + name).exitCode());
        Files.deleteIfExists(ready);
        assertEquals(storedBefore, sha256(repo.storage().open(key).orElseThrow()));
      }
    }
  }

  @Test
  void secondClusterOnTheSamePathIsRefusedNamingThePathAndBothIdentifiers() throws Exception {
    Path root = work.resolve("repo");
    Path secondWork = Files.createDirectories(work.resolve("second"));
    WalArchiverCommand firstWa = new WalArchiverCommand(socket(work));
    WalArchiverCommand secondWa = new WalArchiverCommand(socket(secondWork));
    Repo repo = fsRepo(root);
    try (PostgresCluster first = archivingServer(firstWa).start();
        PostgresCluster second = archivingServer(secondWa).start()) {
      PgsidecarConfig firstCfg = config(first.pgdata(), work, repo);
      PgsidecarConfig secondCfg = config(second.pgdata(), secondWork, repo);
      try (Agent a = startAgent(firstCfg, repo); Agent b = startAgent(secondCfg, repo)) {
        first.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g");
        String name = first.switchWal();
        first.awaitArchived(name, ARCHIVE_TIMEOUT);
        String firstId = first.sql("SELECT system_identifier FROM pg_control_system()");
        String secondId = second.sql("SELECT system_identifier FROM pg_control_system()");
        String key = LAYOUT.walKey(name, ".zst");
        String storedBefore = sha256(repo.storage().open(key).orElseThrow());

        second.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 20000) g");
        String secondName = second.switchWal();
        awaitTrue(() -> second.sqlLong("SELECT failed_count FROM pg_stat_archiver") > 0,
            "archive_command of the second server fails", second);
        WalArchiverCommand.Result r = secondWa.run(second.pgdata(), "push", "pg_wal/" + secondName);

        assertEquals(1, r.exitCode(), r.stderr());
        String refusal = "refusing to archive into file://" + root + " prod/db1/cluster.json: it"
            + " belongs to the PostgreSQL server with system identifier " + firstId + ", but the"
            + " server in " + second.pgdata() + " has system identifier " + secondId;
        assertTrue(r.stderr().contains("answered HTTP 409: " + refusal), r.stderr());
        assertTrue(logContains(second, refusal), second.logTail(20));
        assertEquals(storedBefore, sha256(repo.storage().open(key).orElseThrow()));
        assertEquals(sha256(first.pgdata().resolve("pg_wal").resolve(name)),
            sha256(UnixHttp.get(firstCfg.socket(), "/v1/wal/" + name).body()));
      }
    }
  }

  @Test
  void recoveringServerReplaysArchivedWalThroughFetchAndStopsWhenStorageIsDown() throws Exception {
    Repo repo = azureRepo();
    WalArchiverCommand wa = new WalArchiverCommand(socket(work));
    Path restored = PostgresCluster.emptyDataDirectory();
    Path restoredAgain = PostgresCluster.emptyDataDirectory();
    long rows;
    String archived;
    PgsidecarConfig cfg;
    try (PostgresCluster primary = archivingServer(wa).start()) {
      cfg = config(primary.pgdata(), work, repo);
      try (Agent agent = startAgent(cfg, repo)) {
        primary.sql("CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 50000) g");
        primary.runAsPostgres(List.of(primary.bin("pg_basebackup"), "-D", restored.toString(),
            "-X", "none", "-c", "fast")).orThrow();
        for (int i = 0; i < 3; i++) {
          primary.sql("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 50000) g");
          primary.switchWal();
        }
        primary.sql("INSERT INTO t VALUES (-1, 'last')");
        archived = primary.switchWal();
        primary.awaitArchived(archived, ARCHIVE_TIMEOUT);
        rows = primary.sqlLong("SELECT count(*) FROM t");
        primary.stop();
      }
    }
    copyTree(restored, restoredAgain);
    Files.writeString(restored.resolve("recovery.signal"), "");
    Files.writeString(restoredAgain.resolve("recovery.signal"), "");

    // the agent beside the restored server reads the archive; its pgdata is not used by fetch
    try (Agent agent = startAgent(cfg, repo);
        PostgresCluster copy = recoveringServer(restored, wa)) {
      copy.start();
      copy.awaitEndOfRecovery(ARCHIVE_TIMEOUT);
      assertEquals(rows, copy.sqlLong("SELECT count(*) FROM t"));
      assertTrue(logContains(copy, "restored log file \"" + archived + "\" from archive"),
          copy.logTail(40));
      // "not found" after the last archived segment ended recovery normally: a new timeline
      assertEquals(2, copy.sqlLong("SELECT timeline_id FROM pg_control_checkpoint()"));
    }

    // storage down: fetch must not say "not in the archive", so recovery stops instead
    try (Agent agent = startAgent(cfg, repo)) {
      azurite.stop();
      try {
        Path into = Files.createDirectories(work.resolve("fetched"));
        WalArchiverCommand.Result r = wa.run(into, "fetch", archived, "RECOVERYXLOG");
        assertTrue(r.exitCode() > 125, r.exitCode() + " " + r.stderr());
        assertTrue(r.stderr().contains("wal-archiver: fetch of " + archived + " into RECOVERYXLOG"
            + " failed: the agent at "), r.stderr());
        assertTrue(r.stderr().contains("exiting 255 so that PostgreSQL stops recovery"), r.stderr());
        assertTrue(Files.notExists(into.resolve("RECOVERYXLOG")));

        try (PostgresCluster stopped = recoveringServer(restoredAgain, wa)) {
          // pg_ctl start fails: the startup process died, its log tail is in the message
          String refused = assertThrows(IllegalStateException.class, stopped::start).getMessage();
          assertTrue(refused.contains("from archive: child process exited with exit code 255"), refused);
          assertTrue(!refused.contains("archive recovery complete"), refused);
        }
      } finally {
        azurite.start();
      }
    }
  }

  // ---- the workload and what is checked after it -----------------------------------------------

  /** pgbench -s 10, a short write run and a table rewrite: about 300 MB of WAL, every segment checked. */
  private List<String> bulkLoadArchivesEverySegment(Repo repo) throws Exception {
    WalArchiverCommand wa = new WalArchiverCommand(socket(work));
    try (PostgresCluster pg = archivingServer(wa).start()) {
      PgsidecarConfig cfg = config(pg.pgdata(), work, repo);
      try (Agent agent = startAgent(cfg, repo)) {
        String start = pg.sql("SELECT pg_current_wal_lsn()");
        pg.pgbench("-i", "-s", "10", "-q");
        pg.pgbench("-c", "2", "-j", "2", "-T", "5", "-N");
        pg.sql("VACUUM FULL pgbench_accounts"); // rewrites the table: another ~150 MB of WAL
        long walBytes = pg.sqlLong("SELECT pg_current_wal_lsn() - '" + start + "'");
        String last = pg.switchWal();
        pg.awaitArchived(last, ARCHIVE_TIMEOUT);
        assertTrue(walBytes > 200_000_000, "WAL written: " + walBytes);
        List<String> done = assertEveryDoneSegmentStoredAndByteIdentical(pg, cfg, repo);
        assertTrue(done.size() >= 12, "archived: " + done);
        assertEquals(0, pg.sqlLong("SELECT failed_count FROM pg_stat_archiver"), pg.logTail(20));
        // and through the real client, as restore_command would
        Path into = Files.createDirectories(work.resolve("fetched"));
        WalArchiverCommand.Result r = wa.run(into, "fetch", last, "RECOVERYXLOG");
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals(sha256(pg.pgdata().resolve("pg_wal").resolve(last)),
            sha256(into.resolve("RECOVERYXLOG")));
        return done;
      }
    }
  }

  /**
   * Writes and closes three segments while archiving fails; waits until PostgreSQL has seen the
   * failure and the segments wait as {@code .ready}. Returns their names.
   */
  private static List<String> writeSegmentsWhileArchivingFails(PostgresCluster pg, long failedBefore)
      throws Exception {
    for (int i = 0; i < 3; i++) {
      pg.sql("INSERT INTO pgbench_history SELECT 1, 1, 1, g, now(), 'x' FROM generate_series(1, 20000) g");
      pg.switchWal();
    }
    awaitTrue(() -> pg.sqlLong("SELECT failed_count FROM pg_stat_archiver") > failedBefore,
        "archive_command fails", pg);
    List<String> ready = statusFiles(pg, ".ready");
    assertTrue(ready.size() >= 3, "ready: " + ready);
    return ready;
  }

  /** After three failures the archiver sleeps up to a minute; a new segment wakes it. */
  private static String wakeArchiver(PostgresCluster pg) {
    pg.sql("INSERT INTO pgbench_history VALUES (0, 0, 0, 0, now(), 'wake')");
    return pg.switchWal();
  }

  private static List<String> assertEveryDoneSegmentStoredAndByteIdentical(PostgresCluster pg,
      PgsidecarConfig cfg, Repo repo) throws IOException {
    List<String> done = statusFiles(pg, ".done");
    assertTrue(!done.isEmpty(), "no segment archived");
    for (String name : done) {
      String key = LAYOUT.walKey(name, repo.pipeline().suffix());
      assertTrue(repo.storage().stat(key).isPresent(), key + " missing in " + repo.storage().describe());
      UnixHttp.Response r = UnixHttp.get(cfg.socket(), "/v1/wal/" + name);
      assertEquals(200, r.status(), name + ": " + (r.status() == 200 ? "" : r.text()));
      assertEquals(sha256(pg.pgdata().resolve("pg_wal").resolve(name)), sha256(r.body()), name);
    }
    return done;
  }

  // ---- fixtures ----------------------------------------------------------------------------------

  /** One test's repository: the storage the agent writes, the pipeline and their config. */
  private record Repo(Storage storage, CodecPipeline pipeline, StorageConfig storageConfig,
      Encryption encryption) {}

  private static final Compression ZSTD = new Compression("zstd", 3, 0);
  private static final Encryption NO_ENCRYPTION =
      new Encryption(List.of(), Optional.empty(), List.of(), Optional.empty());

  private static Repo fsRepo(Path root) throws IOException {
    Files.createDirectories(root);
    StorageConfig sc = new StorageConfig(PgsidecarConfig.StorageType.FS, "prod", Optional.of(root),
        null, Duration.ofSeconds(10), 1);
    return new Repo(new FsStorage(root), Pipelines.forConfig(ZSTD, NO_ENCRYPTION), sc, NO_ENCRYPTION);
  }

  /** A fresh container on the shared Azurite, zstd then OpenPGP with a passphrase. */
  private Repo azureRepo() throws IOException {
    String container = azurite.createContainer("w" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
    Path key = azurite.writeKeyFile(work.resolve("azurite.key"));
    Path passphrase = Files.writeString(work.resolve("passphrase"), "correct horse battery staple");
    Encryption pgp = new Encryption(List.of(), Optional.of(passphrase), List.of(), Optional.empty());
    var azure = new PgsidecarConfig.Azure(PgsidecarConfig.AzureAuth.SHARED_KEY, Optional.empty(),
        Optional.of(azurite.endpoint()), Optional.of(Azurite.ACCOUNT), Optional.of(key),
        Optional.empty(), container, 8L << 20, 4, Optional.empty());
    // short: a stopped Azurite must fail a push within seconds, not minutes
    StorageConfig sc = new StorageConfig(PgsidecarConfig.StorageType.AZURE, "prod", Optional.empty(),
        azure, Duration.ofSeconds(10), 1);
    return new Repo(AzureStorage.open(sc), Pipelines.forConfig(ZSTD, pgp), sc, pgp);
  }

  private static PgsidecarConfig config(Path pgdata, Path agentDir, Repo repo) {
    PgsidecarConfig t = TestConfig.of(pgdata, agentDir);
    return new PgsidecarConfig(t.cluster(), t.pgdata(), t.socket(), t.http(), t.postgres(),
        repo.storageConfig(), ZSTD, repo.encryption(), t.wal(), t.backup(), t.dump(), t.metrics(),
        t.schedule());
  }

  /** Where {@link TestConfig} puts the socket; the directory is made reachable for postgres. */
  private static Path socket(Path agentDir) throws IOException {
    Files.setPosixFilePermissions(agentDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return agentDir.resolve("run/agent.sock");
  }

  private static Agent startAgent(PgsidecarConfig cfg, Repo repo) throws IOException {
    Agent agent = new Agent(cfg, repo.storage(), repo.pipeline());
    agent.start();
    // the agent runs as root here and PostgreSQL as postgres (in a pod: one uid, or a group)
    Files.setPosixFilePermissions(cfg.socket(), PosixFilePermissions.fromString("rw-rw-rw-"));
    return agent;
  }

  /** Archiving through wal-archiver; archived segments stay in pg_wal to be compared. */
  private static PostgresCluster archivingServer(WalArchiverCommand wa) {
    return PostgresCluster.builder()
        .setting("archive_mode", "on")
        .setting("archive_command", wa.archiveCommand())
        .setting("wal_keep_size", "2GB")
        .setting("max_wal_size", "2GB")
        .setting("checkpoint_timeout", "1h")
        .build();
  }

  private static PostgresCluster recoveringServer(Path dataDir, WalArchiverCommand wa) {
    return PostgresCluster.fromExistingDataDir(dataDir)
        .setting("archive_mode", "off")
        .setting("restore_command", wa.restoreCommand())
        .deleteDataDirOnClose()
        .build();
  }

  private static void copyTree(Path from, Path to) throws IOException, InterruptedException {
    // cp -a keeps the postgres ownership and modes PostgreSQL insists on
    Process p = new ProcessBuilder("cp", "-a", from + "/.", to.toString()).inheritIO().start();
    assertEquals(0, p.waitFor());
  }

  private static void awaitTrue(BooleanSupplier condition, String what, PostgresCluster pg)
      throws InterruptedException {
    try {
      Waits.until(Duration.ofSeconds(60), Duration.ofMillis(100), condition::getAsBoolean);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("timed out waiting until " + what + "\n" + pg.logTail(30));
    }
  }

  private static boolean logContains(PostgresCluster pg, String text) throws IOException {
    return Files.readString(pg.logFile()).contains(text);
  }

  private static List<String> statusFiles(PostgresCluster pg, String suffix) throws IOException {
    try (Stream<Path> s = Files.list(pg.pgdata().resolve("pg_wal/archive_status"))) {
      return s.map(p -> p.getFileName().toString())
          .filter(f -> f.endsWith(suffix))
          .map(f -> f.substring(0, f.length() - suffix.length()))
          .filter(n -> WalFileName.isValid(n) && WalFileName.parse(n).isSegment())
          .sorted()
          .toList();
    }
  }

  private static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return sha256(in);
    }
  }

  private static String sha256(InputStream in) throws IOException {
    try (in) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
