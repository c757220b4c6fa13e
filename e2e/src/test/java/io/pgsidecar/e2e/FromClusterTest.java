package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.wal.WalFileName;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.restore.RestoreJob;
import io.pgsidecar.testkit.PostgresCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new pod (cluster db2) restored from another cluster's archive (db1) while db1 keeps running
 * and archiving: db2 fetches db1's WAL through its own agent ({@code wal-archiver fetch --cluster
 * db1}), promotes, and archives its new timeline under db2; db1's archive is untouched and keeps
 * growing without a gap.
 */
class FromClusterTest {

  @TempDir Path dir;

  @Test
  void aRestoreFromAnotherClustersArchiveArchivesUnderTheNewNameAndLeavesTheSourceIntact() throws Exception {
    FsStorage storage = new FsStorage(Files.createDirectories(dir.resolve("repo")));
    try (Pod source = new Pod(dir.resolve("pods"), "db1", storage, Pipelines.zstd(1)).startNew();
        Pod copy = new Pod(dir.resolve("pods"), "db2", storage, Pipelines.zstd(1))) {
      PostgresCluster pg = source.server;
      pg.pgbench("-i", "-s", "1", "-q");
      pg.sql("CREATE TABLE known (id int PRIMARY KEY)");
      source.backup("source");
      pg.sql("INSERT INTO known SELECT generate_series(1, 100)");
      String lsn = pg.sql("SELECT pg_current_wal_lsn()");
      pg.sql("INSERT INTO known SELECT generate_series(101, 150)");
      source.archiveCurrentSegment();

      PgsidecarConfig.Restore fromDb1 = copy.restore(Optional.empty(), Optional.of(lsn),
          Optional.empty(), Optional.empty(), false, Optional.of("db1"));
      // before its PGDATA holds a server, as in a pod whose init container runs; with
      // restore.from-cluster, or its hook socket would refuse db1's WAL
      copy.startAgent(fromDb1);
      RestoreJob.run(copy.config, fromDb1, copy.pgdata, storage, copy.pipeline);
      assertTrue(Files.readString(copy.pgdata.resolve("postgresql.auto.conf")).contains(" --cluster db1'"));
      pg.sql("INSERT INTO known SELECT generate_series(151, 200)"); // the source keeps working
      PostgresCluster restored = copy.startRestored();
      Pod.awaitPromoted(restored, Duration.ofSeconds(120));
      assertEquals(100, restored.sqlLong("SELECT count(*) FROM known"));
      restored.sql("INSERT INTO known VALUES (-2)");
      String copySegment = copy.archiveCurrentSegment();
      String sourceSegment = source.archiveCurrentSegment();

      assertTrue(copySegment.startsWith("00000002"), copySegment);
      assertTrue(copy.stored("00000002.history"));
      assertTrue(copy.stored(copySegment));
      assertFalse(source.stored("00000002.history"), "db2's timeline must not appear in db1's archive");
      assertFalse(source.stored(copySegment));
      assertTrue(source.stored(sourceSegment));
      List<WalFileName> sourceSegments = new ArchiveCatalog(storage, source.layout()).segments()
          .stream().map(ArchiveCatalog.WalEntry::name).toList();
      assertTrue(sourceSegments.stream().allMatch(s -> s.timeline() == 1), sourceSegments.toString());
      for (int i = 1; i < sourceSegments.size(); i++) {
        assertEquals(sourceSegments.get(i - 1).next(), sourceSegments.get(i), "db1's archive has a gap");
      }
      assertTrue(new ArchiveCatalog(storage, copy.layout()).segments().stream()
          .allMatch(s -> s.name().timeline() == 2), "db2 holds only its own timeline");
      assertEquals(200, pg.sqlLong("SELECT count(*) FROM known"), "the source kept all its rows");
    }
  }
}
