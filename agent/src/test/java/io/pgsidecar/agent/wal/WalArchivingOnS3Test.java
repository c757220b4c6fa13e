package io.pgsidecar.agent.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.Compression;
import io.pgsidecar.core.config.PgsidecarConfig.Encryption;
import io.pgsidecar.core.config.PgsidecarConfig.StorageConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.factory.StorageFactory;
import io.pgsidecar.core.wal.WalFileName;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.S3Server;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WAL archiving and recovery through the real agent, wal-archiver and PostgreSQL on S3 (S3Mock,
 * path style, static key files, the driver opened by {@link StorageFactory} as the agent's
 * start does): every segment PostgreSQL marked done is in the bucket and byte-identical through
 * fetch, and a server restored from a base backup replays the archive to the last row.
 */
class WalArchivingOnS3Test {

  private static final Duration ARCHIVE_TIMEOUT = Duration.ofSeconds(240);
  private static final RepositoryLayout LAYOUT = new RepositoryLayout("prod", "db1");
  private static final Compression ZSTD = new Compression("zstd", 3, 0);
  private static final Encryption NO_ENCRYPTION =
      new Encryption(List.of(), Optional.empty(), List.of(), Optional.empty());
  private static S3Server s3;

  @TempDir Path work;

  @BeforeAll
  static void startS3() throws IOException {
    s3 = S3Server.s3Mock();
  }

  @AfterAll
  static void stopS3() {
    if (s3 != null) {
      s3.close();
    }
  }

  @Test
  void segmentsArchiveToS3AndARestoredServerReplaysThemThroughFetch() throws Exception {
    Path id = S3Server.writeSecret(work.resolve("s3-id"), S3Server.ACCESS_KEY);
    Path secret = S3Server.writeSecret(work.resolve("s3-secret"), S3Server.SECRET_KEY);
    var s3cfg = new PgsidecarConfig.S3(s3.bucket(), Optional.of(s3.endpoint()),
        Optional.of(S3Server.REGION), true, PgsidecarConfig.S3Auth.STATIC, Optional.of(id),
        Optional.of(secret), PgsidecarConfig.S3Encryption.NONE, Optional.empty(),
        Optional.empty(), 8L << 20, 4);
    StorageConfig sc = new StorageConfig(PgsidecarConfig.StorageType.S3, "prod", Optional.empty(),
        null, Duration.ofSeconds(10), 1, RetryPolicy.Settings.DEFAULTS.withMaxRetries(1), s3cfg);
    CodecPipeline pipeline = Pipelines.forConfig(ZSTD, NO_ENCRYPTION);
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    WalArchiverCommand wa = new WalArchiverCommand(work.resolve("run/agent.sock"));
    Path restored = PostgresCluster.emptyDataDirectory();
    long rows;
    String archived;
    PgsidecarConfig cfg;
    try (Storage storage = StorageFactory.open(sc)) {
      storage.probe(); // as the agent's start does: includes the conditional-write check
      try (PostgresCluster primary = PostgresCluster.builder()
          .setting("archive_mode", "on")
          .setting("archive_command", wa.archiveCommand())
          .setting("wal_keep_size", "1GB")
          .build().start()) {
        cfg = config(primary.pgdata(), work, sc);
        try (Agent agent = startAgent(cfg, storage, pipeline)) {
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
          List<String> done = doneSegments(primary);
          assertTrue(done.size() >= 4, "archived: " + done);
          for (String name : done) {
            ObjectInfo info = storage.stat(LAYOUT.walKey(name, pipeline.suffix())).orElseThrow(
                () -> new AssertionError(name + " missing in " + storage.describe()));
            assertEquals("zstd", info.metadata().codec(), name);
            Path into = Files.createDirectories(work.resolve("fetched"));
            WalArchiverCommand.Result r = wa.run(into, "fetch", name, "RECOVERYXLOG");
            assertEquals(0, r.exitCode(), r.stderr());
            assertEquals(sha256(primary.pgdata().resolve("pg_wal").resolve(name)),
                sha256(into.resolve("RECOVERYXLOG")), name);
            Files.delete(into.resolve("RECOVERYXLOG"));
          }
          assertEquals(0, primary.sqlLong("SELECT failed_count FROM pg_stat_archiver"),
              primary.logTail(20));
          primary.stop();
        }
      }
      Files.writeString(restored.resolve("recovery.signal"), "");
      try (Agent agent = startAgent(cfg, storage, pipeline);
          PostgresCluster copy = PostgresCluster.fromExistingDataDir(restored)
              .setting("archive_mode", "off")
              .setting("restore_command", wa.restoreCommand())
              .deleteDataDirOnClose()
              .build()) {
        copy.start();
        copy.awaitEndOfRecovery(ARCHIVE_TIMEOUT);
        assertEquals(rows, copy.sqlLong("SELECT count(*) FROM t"));
        assertTrue(Files.readString(copy.logFile()).contains(
            "restored log file \"" + archived + "\" from archive"), copy.logTail(40));
      }
    }
  }

  private static PgsidecarConfig config(Path pgdata, Path agentDir, StorageConfig sc) {
    PgsidecarConfig t = TestConfig.of(pgdata, agentDir);
    return new PgsidecarConfig(t.cluster(), t.pgdata(), t.socket(), t.http(), t.postgres(), sc,
        ZSTD, NO_ENCRYPTION, t.wal(), t.backup(), t.dump(), t.metrics(), t.schedule());
  }

  private static Agent startAgent(PgsidecarConfig cfg, Storage storage, CodecPipeline pipeline)
      throws IOException {
    Agent agent = new Agent(cfg, storage, pipeline);
    agent.start();
    Files.setPosixFilePermissions(cfg.socket(), PosixFilePermissions.fromString("rw-rw-rw-"));
    return agent;
  }

  private static List<String> doneSegments(PostgresCluster pg) throws IOException {
    try (Stream<Path> s = Files.list(pg.pgdata().resolve("pg_wal/archive_status"))) {
      return s.map(p -> p.getFileName().toString())
          .filter(f -> f.endsWith(".done"))
          .map(f -> f.substring(0, f.length() - ".done".length()))
          .filter(n -> WalFileName.isValid(n) && WalFileName.parse(n).isSegment())
          .sorted()
          .toList();
    }
  }

  private static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
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
}
