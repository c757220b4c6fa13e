package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.restoreinit.RestoreInit;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disaster drill, end to end with real components: a server archives through wal-archiver
 * into the agent (Azurite, zstd + OpenPGP), a base backup is taken, rows are written until T1,
 * more changes follow, then the server and its data directory are lost. restore-init lays the
 * backup back with target time T1; PostgreSQL replays through wal-archiver fetch from the
 * running agent, promotes, and holds exactly the T1 rows; its new timeline archives beside the
 * old one.
 */
class DisasterDrillTest {

  private static EncryptedAzure azure;

  @TempDir Path dir;

  @BeforeAll
  static void startAzurite() throws Exception {
    azure = EncryptedAzure.launch();
  }

  @AfterAll
  static void stopAzurite() {
    if (azure != null) {
      azure.close();
    }
  }

  @Test
  void restoreInitBringsTheLostServerBackAtTargetTimeAndTheNewTimelineArchives() throws Exception {
    Storage storage = azure.newContainer(dir);
    CodecPipeline pipeline = EncryptedAzure.pipeline(dir);
    try (Pod pod = new Pod(dir.resolve("pod"), "db1", storage, pipeline).startNew()) {
      PostgresCluster pg = pod.server;
      pg.pgbench("-i", "-s", "1", "-q");
      pg.sql("CREATE TABLE known (id int PRIMARY KEY, note text)");
      BackupManifest backup = pod.backup("drill");

      pg.sql("INSERT INTO known SELECT g, 'before T1' FROM generate_series(1, 500) g");
      pg.pgbench("-t", "200", "-n");
      long balanceAtT1 = pg.sqlLong("SELECT sum(abalance) FROM pgbench_accounts");
      String t1 = pod.now();
      pod.awaitClockPast(t1, Duration.ofMillis(300));
      pg.sql("DELETE FROM known WHERE id <= 100");
      pg.sql("INSERT INTO known SELECT g, 'after T1' FROM generate_series(1001, 1300) g");
      pg.pgbench("-t", "200", "-n");
      pod.archiveCurrentSegment();

      pod.loseServer();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int code = RestoreInit.run(pod.withRestore(pod.restoreToTime(t1)),
          new PrintStream(out, true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8), () -> new Unclosed(storage), pipeline);
      assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
      assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("restore-init: restored backup "
          + backup.id() + " into " + pod.pgdata), out.toString(StandardCharsets.UTF_8));

      PostgresCluster restored = pod.startRestored();
      Pod.awaitPromoted(restored, Duration.ofSeconds(120));
      assertEquals(500, restored.sqlLong("SELECT count(*) FROM known"));
      assertEquals(0, restored.sqlLong("SELECT count(*) FROM known WHERE note <> 'before T1'"));
      assertEquals(balanceAtT1, restored.sqlLong("SELECT sum(abalance) FROM pgbench_accounts"),
          "pgbench's balances as they were at T1");
      assertTrue(restored.logTail(400).contains("recovery stopping before commit of transaction"),
          restored.logTail(60));
      assertEquals(2, Pod.timeline(restored));

      restored.sql("INSERT INTO known VALUES (-1, 'on timeline 2')");
      String seg = pod.archiveCurrentSegment();
      assertTrue(seg.startsWith("00000002"), seg);
      assertTrue(pod.stored("00000002.history"), "00000002.history reached storage");
      assertTrue(pod.stored(seg), seg + " reached storage");
    }
  }
}
