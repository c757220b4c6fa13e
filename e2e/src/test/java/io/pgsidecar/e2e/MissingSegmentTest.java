package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.restore.RestoreJob;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.Waits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A segment missing in the middle of the range a restore needs. Missing before the restore, it is
 * refused up front, naming the segment. Lost after the backup was laid down, wal-archiver answers
 * "not in the archive" (exit 1) for it, which PostgreSQL 15 takes as the end of the archive; with a recovery
 * target set beyond the gap it must then stop with FATAL "recovery ended before configured
 * recovery target was reached", never promote at the gap.
 */
class MissingSegmentTest {

  private static final String ENDED_EARLY = "recovery ended before configured recovery target was reached";

  @TempDir Path dir;

  @Test
  void recoveryStopsAtTheGapNamingTheSegmentAndNeverPromotes() throws Exception {
    FsStorage storage = new FsStorage(Files.createDirectories(dir.resolve("repo")));
    try (Pod pod = new Pod(dir.resolve("pod"), "db1", storage, Pipelines.zstd(1)).startNew()) {
      PostgresCluster pg = pod.server;
      pg.sql("CREATE TABLE known (id int PRIMARY KEY)");
      pod.backup("gap");
      List<String> segments = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        pg.sql("INSERT INTO known SELECT generate_series(" + (i * 100 + 1) + ", " + (i * 100 + 100) + ")");
        segments.add(pod.archiveCurrentSegment());
      }
      pg.sql("INSERT INTO known SELECT generate_series(301, 400)");
      String beyondTheGap = pg.sql("SELECT pg_current_wal_lsn()");
      pod.archiveCurrentSegment();
      String missing = segments.get(1);
      PgsidecarConfig.Restore toBeyondTheGap = pod.restore(Optional.empty(), Optional.of(beyondTheGap),
          Optional.empty(), Optional.empty(), false, Optional.empty());

      // Lost after the backup was laid down (during replay): PostgreSQL must stop at the gap.
      Path target = PostgresCluster.emptyDataDirectory();
      RestoreJob.run(pod.config, toBeyondTheGap, target, storage, pod.pipeline);
      assertTrue(storage.delete(pod.layout().walKey(missing, pod.pipeline.suffix())));
      // Lost before: the restore is refused before anything is written, naming the segment.
      Path second = PostgresCluster.emptyDataDirectory();
      IOException refused = assertThrows(IOException.class,
          () -> RestoreJob.run(pod.config, toBeyondTheGap, second, storage, pod.pipeline));
      assertTrue(refused.getMessage().startsWith("WAL segment " + missing + " is missing from "),
          refused.getMessage());
      try (var left = Files.list(second)) {
        assertEquals(0, left.count());
      }
      Pod.deleteTree(second);
      try (PostgresCluster restored = PostgresCluster.fromExistingDataDir(target)
          .setting("archive_mode", "off").deleteDataDirOnClose().build()) {
        try {
          restored.start(); // may return (hot standby accepts connections) or fail (FATAL first)
        } catch (IllegalStateException startupFailed) {
          // the server stopped before pg_ctl saw it ready: the log says why
        }
        Waits.holdsWithin(Duration.ofSeconds(120), Duration.ofMillis(200),
            () -> restored.logTail(400).contains(ENDED_EARLY)); // the log is asserted on below
        String log = restored.logTail(400);
        assertTrue(log.contains("FATAL:  " + ENDED_EARLY), log);
        assertTrue(log.contains("wal-archiver: fetch: " + missing + " is not in the archive"), log);
        assertTrue(log.contains("restored log file \"" + segments.get(0) + "\" from archive"), log);
        assertFalse(log.contains("selected new timeline ID"), log);
        assertFalse(log.contains("archive recovery complete"), log);
        assertFalse(log.contains("database system is ready to accept connections"), log);
      }
    }
  }
}
