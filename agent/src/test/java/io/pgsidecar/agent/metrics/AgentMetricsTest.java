package io.pgsidecar.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class AgentMetricsTest {
  private static final Instant AT = Instant.parse("2026-11-22T02:15:00.250Z");
  private static final double AT_SECONDS = 1795313700.25;

  @Test
  void pushesCountByResultWithBytesAndLatency() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      m.walPushed(Result.OK, 16_777_216, 1_000_000, Duration.ofMillis(40));
      m.walPushed(Result.OK, 16_777_216, 2_000_000, Duration.ofMillis(3));
      m.walPushed(Result.ERROR, 16_777_216, 0, Duration.ofSeconds(2));
      Scrape s = Scrape.parse(m.scrape());
      assertEquals(2, s.value("pgsidecar_wal_pushes_total", "result", "ok"));
      assertEquals(1, s.value("pgsidecar_wal_pushes_total", "result", "error"));
      assertEquals(0, s.value("pgsidecar_wal_pushes_total", "result", "conflict"));
      assertEquals(33_554_432, s.value("pgsidecar_wal_pushed_plain_bytes_total"));
      assertEquals(3_000_000, s.value("pgsidecar_wal_pushed_stored_bytes_total"));
      assertEquals(3, s.value("pgsidecar_wal_push_duration_seconds_count"));
      assertEquals(2.043, s.value("pgsidecar_wal_push_duration_seconds_sum"), 1e-9);
      assertEquals(1, s.value("pgsidecar_wal_push_duration_seconds_bucket", "le", "0.005"));
      assertEquals(2, s.value("pgsidecar_wal_push_duration_seconds_bucket", "le", "0.05"));
      assertEquals(3, s.value("pgsidecar_wal_push_duration_seconds_bucket", "le", "+Inf"));
    }
  }

  @Test
  void aConflictingPushAlsoCountsAsArchiveConflict() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      m.walPushed(Result.CONFLICT, 0, 0, Duration.ofMillis(1));
      m.archiveConflict();
      Scrape s = Scrape.parse(m.scrape());
      assertEquals(1, s.value("pgsidecar_wal_pushes_total", "result", "conflict"));
      assertEquals(2, s.value("pgsidecar_wal_archive_conflicts_total"));
    }
  }

  @Test
  void fetchesCountNotFoundApartFromErrors() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      m.walFetched(Result.NOT_FOUND, 0, 0, Duration.ofMillis(1));
      m.walFetched(Result.OK, 100, 10, Duration.ofMillis(1));
      m.prefetchHit();
      Scrape s = Scrape.parse(m.scrape());
      assertEquals(1, s.value("pgsidecar_wal_fetches_total", "result", "not_found"));
      assertEquals(0, s.value("pgsidecar_wal_fetches_total", "result", "error"));
      assertEquals(100, s.value("pgsidecar_wal_fetched_plain_bytes_total"));
      assertEquals(10, s.value("pgsidecar_wal_fetched_stored_bytes_total"));
      assertEquals(1, s.value("pgsidecar_wal_prefetch_hits_total"));
      assertEquals(2, s.value("pgsidecar_wal_fetch_duration_seconds_count"));
    }
  }

  @Test
  void archivedSegmentSetsTimestampAndStartLsn() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      m.walArchived("0000000100000002000000A3", AT);
      Scrape s = Scrape.parse(m.scrape());
      assertEquals(AT_SECONDS, s.value("pgsidecar_wal_last_archived_timestamp_seconds"), 1e-3);
      assertEquals((2L << 32) + 0xA3L * 16 * 1024 * 1024, s.value("pgsidecar_wal_last_archived_lsn_bytes"));
    }
  }

  @Test
  void segmentLsnFollowsTheServersSegmentSize() {
    try (AgentMetrics m = new AgentMetrics("db1", 64L << 20)) {
      m.walArchived("000000010000000000000003", AT);
      assertEquals(3L * (64 << 20), Scrape.parse(m.scrape()).value("pgsidecar_wal_last_archived_lsn_bytes"));
    }
  }

  @Test
  void historyAndBackupLabelFilesDoNotMoveTheLastArchivedGauges() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      m.walArchived("000000010000000000000003", AT);
      m.walArchived("00000002.history", AT.plusSeconds(10));
      m.walArchived("000000010000000000000003.00000028.backup", AT.plusSeconds(20));
      m.walArchived("000000010000000000000004.partial", AT.plusSeconds(30));
      Scrape s = Scrape.parse(m.scrape());
      assertEquals(AT_SECONDS, s.value("pgsidecar_wal_last_archived_timestamp_seconds"), 1e-3);
      assertEquals(3L << 24, s.value("pgsidecar_wal_last_archived_lsn_bytes"));
    }
  }

  @Test
  void aSegmentSizeThatIsNotAPowerOfTwoIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new AgentMetrics("db1", 10_000_000));
    assertEquals("WAL segment size 10000000 is not a power of two; pass wal_segment_size in bytes",
        e.getMessage());
  }

  @Test
  void backupSuccessResetsConsecutiveFailuresAndRecordsSizes() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      m.backupStarted(BackupKind.BASE);
      assertEquals(1, Scrape.parse(m.scrape()).value("pgsidecar_backup_running", "kind", "base"));
      m.backupFailed(BackupKind.BASE, AT);
      m.backupFailed(BackupKind.BASE, AT.plusSeconds(60));
      Scrape failed = Scrape.parse(m.scrape());
      assertEquals(2, failed.value("pgsidecar_backup_consecutive_failures", "kind", "base"));
      assertEquals(0, failed.value("pgsidecar_backup_running", "kind", "base"));
      assertEquals(AT_SECONDS + 60, failed.value("pgsidecar_backup_last_failure_timestamp_seconds", "kind", "base"), 1e-3);
      assertEquals(0, failed.value("pgsidecar_backup_last_success_timestamp_seconds", "kind", "base"));
      assertEquals(2, failed.value("pgsidecar_backup_runs_total", "kind", "base", "result", "error"));

      m.backupSucceeded(BackupKind.BASE, Duration.ofMillis(91_500), 180_000_000, 21_000_000, AT.plusSeconds(600));
      Scrape ok = Scrape.parse(m.scrape());
      assertEquals(0, ok.value("pgsidecar_backup_consecutive_failures", "kind", "base"));
      assertEquals(AT_SECONDS + 600, ok.value("pgsidecar_backup_last_success_timestamp_seconds", "kind", "base"), 1e-3);
      assertEquals(91.5, ok.value("pgsidecar_backup_last_duration_seconds", "kind", "base"));
      assertEquals(180_000_000, ok.value("pgsidecar_backup_last_raw_size_bytes", "kind", "base"));
      assertEquals(21_000_000, ok.value("pgsidecar_backup_last_stored_size_bytes", "kind", "base"));
      assertEquals(1, ok.value("pgsidecar_backup_runs_total", "kind", "base", "result", "ok"));
      // The other kind is untouched.
      assertEquals(0, ok.value("pgsidecar_backup_runs_total", "kind", "dump", "result", "ok"));
      assertEquals(0, ok.value("pgsidecar_backup_last_success_timestamp_seconds", "kind", "dump"));
    }
  }

  @Test
  void seedingTheLastSuccessLeavesRunCountersAlone() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      m.backupLastSuccess(BackupKind.DUMP, AT, Duration.ofSeconds(30), 1000, 100);
      Scrape s = Scrape.parse(m.scrape());
      assertEquals(AT_SECONDS, s.value("pgsidecar_backup_last_success_timestamp_seconds", "kind", "dump"), 1e-3);
      assertEquals(0, s.value("pgsidecar_backup_runs_total", "kind", "dump", "result", "ok"));
    }
  }

  @Test
  void scheduleRetentionAndRecoverabilityGaugesAreSet() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      m.schedule(BackupKind.DUMP, true, AT);
      m.retained(BackupKind.BASE, 7);
      m.recoverabilityWindow(AT.minusSeconds(86_400), AT);
      Scrape s = Scrape.parse(m.scrape());
      assertEquals(1, s.value("pgsidecar_schedule_enabled", "kind", "dump"));
      assertEquals(0, s.value("pgsidecar_schedule_enabled", "kind", "base"));
      assertEquals(AT_SECONDS, s.value("pgsidecar_schedule_next_run_timestamp_seconds", "kind", "dump"), 1e-3);
      assertEquals(7, s.value("pgsidecar_backup_retained", "kind", "base"));
      assertEquals(AT_SECONDS - 86_400, s.value("pgsidecar_recoverability_first_timestamp_seconds"), 1e-3);
      assertEquals(AT_SECONDS, s.value("pgsidecar_recoverability_last_timestamp_seconds"), 1e-3);
      m.recoverabilityWindow(null, null);
      assertEquals(0, Scrape.parse(m.scrape()).value("pgsidecar_recoverability_first_timestamp_seconds"));
    }
  }

  @Test
  void storageRequestsCountByOperationAndResult() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      m.storageRequest(StorageOperation.OPEN, Result.NOT_FOUND, Duration.ofMillis(7));
      m.storageRetry(StorageOperation.CREATE);
      Scrape s = Scrape.parse(m.scrape());
      assertEquals(1, s.value("pgsidecar_storage_requests_total", "operation", "open", "result", "not_found"));
      assertEquals(0, s.value("pgsidecar_storage_requests_total", "operation", "open", "result", "ok"));
      assertEquals(1, s.value("pgsidecar_storage_retries_total", "operation", "create"));
      assertEquals(1, s.value("pgsidecar_storage_request_duration_seconds_count", "operation", "open"));
    }
  }

  @Test
  void postgresGaugesMirrorPgStatArchiver() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      Scrape before = Scrape.parse(m.scrape());
      assertEquals(0, before.value("pgsidecar_postgres_reachable"));
      assertTrue(Double.isNaN(before.value("pgsidecar_postgres_wal_insert_lsn_bytes")));
      m.postgresReachable(true);
      m.pgStatArchiver(5, AT);
      m.pgStatArchiverLastArchived(AT.plusSeconds(1));
      m.walInsertLsn(0x1_6B37_4D48L);
      Scrape s = Scrape.parse(m.scrape());
      assertEquals(1, s.value("pgsidecar_postgres_reachable"));
      assertEquals(5, s.value("pgsidecar_postgres_archiver_failed_total"));
      assertEquals(AT_SECONDS, s.value("pgsidecar_postgres_archiver_last_failed_timestamp_seconds"), 1e-3);
      assertEquals(AT_SECONDS + 1, s.value("pgsidecar_postgres_archiver_last_archived_timestamp_seconds"), 1e-3);
      assertEquals(0x1_6B37_4D48L, s.value("pgsidecar_postgres_wal_insert_lsn_bytes"));
      m.walInsertLsn(-1);
      assertTrue(Double.isNaN(Scrape.parse(m.scrape()).value("pgsidecar_postgres_wal_insert_lsn_bytes")));
    }
  }

  @Test
  void everySampleCarriesTheClusterLabelAndOnlyBoundedLabels() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      MetricNamesTest.exerciseEveryMethod(m);
      Set<String> pgsidecarLabels = new TreeSet<>();
      for (Scrape.Sample s : Scrape.parse(m.scrape()).samples()) {
        assertEquals("db1", s.labels().get("cluster"), s.toString());
        if (s.name().startsWith("pgsidecar_")) {
          pgsidecarLabels.addAll(s.labels().keySet());
        }
      }
      assertEquals(new TreeSet<>(List.of("cluster", "kind", "le", "operation", "result")), pgsidecarLabels);
    }
  }

  @Test
  void jvmAndProcessMetricsAreExported() {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      Set<String> names = Scrape.parse(m.scrape()).names();
      for (String name : List.of("jvm_memory_used_bytes", "jvm_threads_live_threads",
          "process_cpu_usage", "process_uptime_seconds", "process_start_time_seconds",
          "jvm_gc_memory_allocated_bytes_total", "system_cpu_usage")) {
        assertTrue(names.contains(name), name + " missing from " + names);
      }
    }
  }
}
