package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.restore.RestoreJob;
import io.pgsidecar.core.restore.Restorer;
import io.pgsidecar.testkit.PostgresCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Each kind of recovery target against one archive (Azurite, zstd + OpenPGP): after a base
 * backup of an empty table, 100 rows are committed (then the LSN is noted), 100 more in a
 * transaction whose xid is noted, 100 more before a named restore point, then everything is
 * deleted. Each restore goes into a fresh data directory, replays through wal-archiver fetch from
 * the running agent, promotes, and must hold exactly the rows of its target.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RecoveryTargetsTest {

  private EncryptedAzure azure;
  private Path dir;
  private Pod pod;
  private BackupManifest backup;
  private String lsn;
  private String xid;

  @BeforeAll
  void archiveWithKnownPoints() throws Exception {
    dir = Files.createTempDirectory("pgsidecar-e2e-targets-");
    azure = EncryptedAzure.launch();
    Storage storage = azure.newContainer(dir);
    CodecPipeline pipeline = EncryptedAzure.pipeline(dir);
    pod = new Pod(dir.resolve("pod"), "db1", storage, pipeline).startNew();
    PostgresCluster pg = pod.server;
    pg.pgbench("-i", "-s", "1", "-q");
    pg.sql("CREATE TABLE known (id int PRIMARY KEY)");
    backup = pod.backup("targets");

    pg.sql("INSERT INTO known SELECT generate_series(1, 100)");
    lsn = pg.sql("SELECT pg_current_wal_lsn()");
    try (Connection c = pg.connect(); Statement st = c.createStatement()) {
      c.setAutoCommit(false);
      st.execute("INSERT INTO known SELECT generate_series(101, 200)");
      try (ResultSet rs = st.executeQuery("SELECT txid_current()")) {
        rs.next();
        xid = rs.getString(1);
      }
      c.commit();
    }
    pg.sql("INSERT INTO known SELECT generate_series(201, 300)");
    pg.sql("SELECT pg_create_restore_point('e2e-before-purge')");
    pg.sql("DELETE FROM known");
    pg.sql("INSERT INTO known SELECT generate_series(9001, 9010)");
    pg.pgbench("-t", "100", "-n");
    pod.archiveCurrentSegment();
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (pod != null) {
        pod.close();
      }
    } finally {
      if (azure != null) {
        azure.close();
      }
      Pod.deleteTree(dir);
    }
  }

  /** Restores into a new data directory, starts it without archiving, returns the row count. */
  private long restoreAndCount(PgsidecarConfig.Restore r, String expectedLogLine) throws Exception {
    Path target = PostgresCluster.emptyDataDirectory();
    Restorer.Result result = RestoreJob.run(pod.config, r, target, pod.storage, pod.pipeline);
    assertEquals(backup.id(), result.backup().id());
    try (PostgresCluster restored = PostgresCluster.fromExistingDataDir(target)
        .setting("archive_mode", "off").deleteDataDirOnClose().build()) {
      restored.start();
      Pod.awaitPromoted(restored, Duration.ofSeconds(120));
      assertTrue(restored.logTail(400).contains(expectedLogLine), restored.logTail(60));
      assertTrue(restored.logTail(400).contains("restored log file \""), restored.logTail(60));
      return restored.sqlLong("SELECT count(*) FROM known");
    }
  }

  @Test
  void anLsnTargetStopsRightAfterThatPosition() throws Exception {
    assertEquals(100, restoreAndCount(pod.restore(Optional.empty(), Optional.of(lsn), Optional.empty(),
        Optional.empty(), false, Optional.empty()), "recovery stopping after WAL location (LSN) \"" + lsn + "\""));
  }

  @Test
  void anXidTargetStopsAfterThatTransactionCommits() throws Exception {
    assertEquals(200, restoreAndCount(pod.restore(Optional.empty(), Optional.empty(), Optional.of(xid),
        Optional.empty(), false, Optional.empty()), "recovery stopping after commit of transaction " + xid));
  }

  @Test
  void aNamedRestorePointTargetStopsThere() throws Exception {
    assertEquals(300, restoreAndCount(pod.restore(Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.of("e2e-before-purge"), false, Optional.empty()),
        "recovery stopping at restore point \"e2e-before-purge\""));
  }

  @Test
  void anImmediateTargetStopsAsSoonAsTheBackupIsConsistent() throws Exception {
    assertEquals(0, restoreAndCount(pod.restore(Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), true, Optional.empty()), "recovery stopping after reaching consistency"));
  }
}
