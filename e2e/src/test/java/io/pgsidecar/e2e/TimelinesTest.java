package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.restore.RestoreJob;
import io.pgsidecar.testkit.PostgresCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two point-in-time restores in a row in one pod (timeline 1 -> 2 -> 3): the second one targets a
 * moment on timeline 2, so PostgreSQL must get 00000002.history from the archive and follow it
 * from the timeline-1 backup. Each new timeline archives beside the old ones without conflict.
 */
class TimelinesTest {

  @TempDir Path dir;

  @Test
  void aSecondRestoreReachesAPointOnTheTimelineTheFirstOneCreated() throws Exception {
    FsStorage storage = new FsStorage(Files.createDirectories(dir.resolve("repo")));
    try (Pod pod = new Pod(dir.resolve("pod"), "db1", storage, Pipelines.zstd(1)).startNew()) {
      PostgresCluster pg = pod.server;
      pg.pgbench("-i", "-s", "1", "-q");
      pg.sql("CREATE TABLE known (id int PRIMARY KEY, note text)");
      pod.backup("timelines");
      pg.sql("INSERT INTO known SELECT g, 'tl1' FROM generate_series(1, 100) g");
      String t1 = pod.now();
      pod.awaitClockPast(t1, Duration.ofMillis(300));
      pg.sql("INSERT INTO known SELECT g, 'lost on tl1' FROM generate_series(1001, 1100) g");
      pod.archiveCurrentSegment();

      pod.loseServer();
      RestoreJob.run(pod.config, pod.restoreToTime(t1), pod.pgdata, storage, pod.pipeline);
      PostgresCluster second = pod.startRestored();
      Pod.awaitPromoted(second, Duration.ofSeconds(120));
      assertEquals(2, Pod.timeline(second));
      second.sql("INSERT INTO known SELECT g, 'tl2' FROM generate_series(201, 300) g");
      String t2 = pod.now();
      pod.awaitClockPast(t2, Duration.ofMillis(300));
      second.sql("INSERT INTO known SELECT g, 'lost on tl2' FROM generate_series(2001, 2100) g");
      assertTrue(pod.archiveCurrentSegment().startsWith("00000002"));
      assertTrue(pod.stored("00000002.history"));

      pod.loseServer();
      RestoreJob.run(pod.config, pod.restoreToTime(t2), pod.pgdata, storage, pod.pipeline);
      PostgresCluster third = pod.startRestored();
      Pod.awaitPromoted(third, Duration.ofSeconds(120));
      assertTrue(third.logTail(400).contains("restored log file \"00000002.history\" from archive"),
          third.logTail(60));
      assertEquals(3, Pod.timeline(third));
      assertEquals(200, third.sqlLong("SELECT count(*) FROM known"));
      assertEquals(100, third.sqlLong("SELECT count(*) FROM known WHERE note = 'tl2'"));
      assertEquals(0, third.sqlLong("SELECT count(*) FROM known WHERE note LIKE 'lost%'"));

      third.sql("INSERT INTO known VALUES (-3, 'on timeline 3')");
      String seg = pod.archiveCurrentSegment();
      assertTrue(seg.startsWith("00000003"), seg);
      assertTrue(pod.stored("00000003.history"));
      assertTrue(pod.stored(seg));
    }
  }
}
