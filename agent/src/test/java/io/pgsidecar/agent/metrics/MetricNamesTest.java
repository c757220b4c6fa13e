package io.pgsidecar.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Every metric the alert rules and the dashboard query is one the agent exports, and every
 * pgsidecar metric the agent exports is documented in docs/metrics.md.
 */
class MetricNamesTest {

  /** Calls every method of the typed API once, as the services will. */
  static void exerciseEveryMethod(AgentMetrics m) {
    Instant now = Instant.parse("2026-11-22T02:15:00Z");
    m.walPushed(Result.OK, 16 << 20, 1 << 20, Duration.ofMillis(40));
    m.walPushed(Result.CONFLICT, 0, 0, Duration.ofMillis(5));
    m.walFetched(Result.OK, 16 << 20, 1 << 20, Duration.ofMillis(20));
    m.walFetched(Result.NOT_FOUND, 0, 0, Duration.ofMillis(2));
    m.walReadyPending(3);
    m.walArchived("000000010000000000000003", now);
    m.lookaheadHit();
    m.prefetchHit();
    m.archiveConflict();
    m.backupStarted(BackupKind.BASE);
    m.backupSucceeded(BackupKind.BASE, Duration.ofSeconds(90), 170L << 20, 20L << 20, now);
    m.backupStarted(BackupKind.DUMP);
    m.backupFailed(BackupKind.DUMP, now);
    m.backupLastSuccess(BackupKind.DUMP, now.minusSeconds(86_400), Duration.ofSeconds(30), 1 << 20, 1 << 18);
    m.retained(BackupKind.BASE, 7);
    m.schedule(BackupKind.DUMP, true, now.plusSeconds(3600));
    m.recoverabilityWindow(now.minusSeconds(7 * 86_400), now);
    m.storageRequest(StorageOperation.CREATE, Result.OK, Duration.ofMillis(30));
    m.storageRetry(StorageOperation.CREATE);
    m.postgresReachable(true);
    m.pgStatArchiver(2, now.minusSeconds(60));
    m.pgStatArchiverLastArchived(now);
    m.walInsertLsn(0x3000000L);
    new io.pgsidecar.agent.retention.RetentionMetrics(m.registry());
    var verify = new io.pgsidecar.agent.verify.VerifyMetrics(m.registry());
    verify.scheduled(true);
    verify.walChecked(0);
    verify.succeeded(now, Duration.ofSeconds(40), 86_400);
    verify.failed(now, Duration.ofSeconds(5));
  }

  @Test
  void everyMetricOfTheAlertRulesIsExported() throws IOException {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      exerciseEveryMethod(m);
      List<String> exprs = MetricNames.ruleExpressions(RepoFiles.file("dashboards/alerts.yml"));
      assertTrue(exprs.size() >= 10, "rules read: " + exprs.size());
      assertEquals(Set.of(), MetricNames.missingFrom(Scrape.parse(m.scrape()), exprs),
          "metrics used by dashboards/alerts.yml but not exported by AgentMetrics");
    }
  }

  @Test
  void everyMetricOfTheDashboardIsExported() throws IOException {
    try (AgentMetrics m = new AgentMetrics("db1")) {
      exerciseEveryMethod(m);
      List<String> exprs = MetricNames.dashboardExpressions(RepoFiles.file("dashboards/pgsidecar.json"));
      assertTrue(exprs.size() >= 20, "dashboard queries read: " + exprs.size());
      assertEquals(Set.of(), MetricNames.missingFrom(Scrape.parse(m.scrape()), exprs),
          "metrics used by dashboards/pgsidecar.json but not exported by AgentMetrics");
    }
  }

  @Test
  void everyExportedPgsidecarMetricIsDocumented() throws IOException {
    String doc = Files.readString(RepoFiles.file("docs/metrics.md"));
    try (AgentMetrics m = new AgentMetrics("db1")) {
      exerciseEveryMethod(m);
      Set<String> undocumented = new TreeSet<>();
      for (String name : Scrape.parse(m.scrape()).names()) {
        String family = name.replaceAll("_(bucket|count|sum|max)$", "");
        if (name.startsWith("pgsidecar_") && !doc.contains("`" + family + "`")) {
          undocumented.add(family);
        }
      }
      assertEquals(Set.of(), undocumented, "exported but not in docs/metrics.md");
    }
  }

  @Test
  void namesAreReadFromPromqlButNotFromLabelsFunctionsOrStrings() {
    assertEquals(Set.of("pgsidecar_wal_push_duration_seconds_bucket", "process_start_time_seconds"),
        MetricNames.inPromql("histogram_quantile(0.95, sum by (le, operation) (rate("
            + "pgsidecar_wal_push_duration_seconds_bucket{cluster=~\"pgsidecar_x\", result=\"ok\"}[5m])))"
            + " and on (cluster) (time() - process_start_time_seconds > 26 * 3600)"));
  }

  @Test
  void aNameMissingFromTheScrapeIsReported() {
    Scrape scrape = Scrape.parse("pgsidecar_wal_ready_segments{cluster=\"db1\"} 0.0\n");
    assertEquals(Set.of("pgsidecar_nope_total"), MetricNames.missingFrom(scrape,
        List.of("pgsidecar_wal_ready_segments > 10", "rate(pgsidecar_nope_total[5m])")));
  }
}
