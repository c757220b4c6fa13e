package io.pgsidecar.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link PostgresCluster#awaitArchived} against a real archiver, and the name order it relies on.
 * After a base backup the last archived name is the backup history file
 * ({@code 000000010000000000000003.00000028.backup}); the old check compared its length with a
 * segment's and waited until a later segment came, which in a quiet test never does.
 */
class PostgresClusterArchiveTest {

  /** One archive per test: each test has its own cluster, whose segment names start over. */
  final Path archive = PostgresCluster.emptyDataDirectory();

  @RegisterExtension
  final PostgresCluster pg = PostgresCluster.builder()
      .setting("wal_level", "replica")
      .setting("archive_mode", "on")
      .setting("archive_command", "test ! -f '" + archive + "/%f' && cp %p '" + archive + "/%f'")
      .build();

  @AfterEach
  void removeArchive() throws Exception {
    try (var files = Files.list(archive)) {
      for (Path f : files.toList()) {
        Files.delete(f);
      }
    }
    Files.delete(archive);
  }

  @Test
  void theSegmentsOfABaseBackupCountAsArchivedWhenItsBackupFileWasArchivedLast() throws Exception {
    pg.sql("CREATE TABLE t AS SELECT generate_series(1, 100) AS x");
    pg.awaitArchived(pg.switchWal(), Duration.ofSeconds(60));

    String start;
    try (Connection c = pg.connect(); Statement st = c.createStatement()) {
      // A non-exclusive backup lives in one session; pg_backup_stop waits for the archiver.
      start = one(st, "SELECT pg_walfile_name(pg_backup_start('awaitArchived', true))");
      one(st, "SELECT lsn FROM pg_backup_stop()");
    }
    String last = pg.sql("SELECT last_archived_wal FROM pg_stat_archiver");
    assertTrue(last.startsWith(start + ".") && last.endsWith(".backup"), last);
    // A checkpoint removes the segment and its .done, so only pg_stat_archiver can tell.
    pg.sql("CHECKPOINT");
    assertFalse(Files.exists(pg.pgdata().resolve("pg_wal/archive_status/" + start + ".done")),
        "the checkpoint left " + start + ".done");

    long t0 = System.nanoTime();
    pg.awaitArchived(start, Duration.ofSeconds(20));
    pg.awaitArchived(last, Duration.ofSeconds(20));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < 2_000, "took " + ms + " ms");
    assertTrue(Files.exists(archive.resolve(last)), last);

    String next = pg.sql("SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
    var e = assertThrows(IllegalStateException.class,
        () -> pg.awaitArchived(next, Duration.ofMillis(300)));
    assertTrue(e.getMessage().startsWith(next + " not archived within PT0.3S; pg_stat_archiver:"
        + " last archived " + last + ", last failed "), e.getMessage());
  }

  @Test
  void archivedByFollowsTheArchiversNameOrder() {
    String s3 = "000000010000000000000003";
    String s4 = "000000010000000000000004";
    String backup3 = s3 + ".00000028.backup";

    // (last archived, wanted) -> archived?
    assertTrue(WalWaits.archivedBy(backup3, s3), "the backup file's start segment");
    assertTrue(WalWaits.archivedBy(backup3, "000000010000000000000002"));
    assertFalse(WalWaits.archivedBy(backup3, s4));
    assertTrue(WalWaits.archivedBy(s4, backup3), "a later segment after a backup file");
    assertFalse(WalWaits.archivedBy(s3, backup3), "the start segment precedes its .backup");
    assertTrue(WalWaits.archivedBy(s4, s3));
    assertTrue(WalWaits.archivedBy(s3, s3));
    assertFalse(WalWaits.archivedBy(s3, s4));
    assertFalse(WalWaits.archivedBy("", s3));
    // History files jump the queue: they say nothing about segments.
    assertFalse(WalWaits.archivedBy("00000002.history", s3));
    assertTrue(WalWaits.archivedBy("00000002.history", "00000002.history"));
    assertTrue(WalWaits.archivedBy("000000020000000000000005", "00000002.history"));
    assertFalse(WalWaits.archivedBy("000000010000000000000009", "00000002.history"));
    // <S>.partial: S of that timeline is never archived whole, the ones before it were.
    assertFalse(WalWaits.archivedBy(s4 + ".partial", s4));
    assertTrue(WalWaits.archivedBy(s4 + ".partial", s3));
    assertEquals(true, WalWaits.archivedBy(s4 + ".partial", s4 + ".partial"));
  }

  private static String one(Statement st, String sql) throws Exception {
    try (ResultSet rs = st.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getString(1);
    }
  }
}
