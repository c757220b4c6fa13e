package io.pgsidecar.agent.wal;

import io.pgsidecar.agent.support.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.walarchiver.WalArchiver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole WAL path with the real client: PostgreSQL archives through {@code wal-archiver push
 * %p}, a base backup is taken with {@code pg_basebackup -X none} (which itself waits for the
 * archiving of its last segment), and a second server recovers from that backup through
 * {@code wal-archiver fetch %f %p}: it must replay every archived change, then end recovery
 * normally at the first "not in the archive".
 */
class RecoveryThroughWalArchiverTest {

  @TempDir Path work;

  @Test
  void serverRestoredFromABaseBackupReplaysTheArchivedWalAndPromotes() throws Exception {
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path socket = work.resolve("run/agent.sock");
    String walArchiver = String.join(" ", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp",
        Path.of(WalArchiver.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString(),
        WalArchiver.class.getName(), "--socket", socket.toString());
    MemoryStorage storage = new MemoryStorage();
    Path restored = PostgresCluster.emptyDataDirectory();

    try (PostgresCluster primary = PostgresCluster.builder()
        .setting("archive_mode", "on")
        .setting("archive_command", walArchiver + " push %p")
        .build()) {
      primary.start();
      PgsidecarConfig cfg = TestConfig.of(primary.pgdata(), work);
      try (Agent agent = new Agent(cfg, storage, new XorPipeline())) {
        agent.start();
        Files.setOwner(socket, socket.getFileSystem().getUserPrincipalLookupService()
            .lookupPrincipalByName("postgres"));

        primary.sql("CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 50000) g");
        primary.runAsPostgres(List.of(primary.bin("pg_basebackup"), "-D", restored.toString(),
            "-X", "none", "-c", "fast")).orThrow();
        for (int i = 0; i < 3; i++) {
          primary.sql("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 50000) g");
          primary.switchWal();
        }
        primary.sql("INSERT INTO t VALUES (-1, 'last')");
        primary.awaitArchived(primary.switchWal(), Duration.ofSeconds(120));
        long rows = primary.sqlLong("SELECT count(*) FROM t");
        assertEquals(200_001, rows);
        primary.stop();

        Files.writeString(restored.resolve("recovery.signal"), "");
        try (PostgresCluster copy = PostgresCluster.fromExistingDataDir(restored)
            .setting("archive_mode", "off")
            .setting("restore_command", walArchiver + " fetch %f %p")
            .deleteDataDirOnClose()
            .build()) {
          copy.start();
          Await.quietly(Duration.ofSeconds(120),
              () -> !"t".equals(copy.sql("SELECT pg_is_in_recovery()")));
          assertEquals("f", copy.sql("SELECT pg_is_in_recovery()"), copy.logTail(40));
          assertEquals(rows, copy.sqlLong("SELECT count(*) FROM t"));
          assertTrue(copy.logTail(200).contains("restored log file"), copy.logTail(40));
          assertEquals("2", copy.sql("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)::int::text"));
        }
      }
    }
  }
}
