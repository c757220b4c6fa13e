package io.pgsidecar.agent.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.metrics.Scrape;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The dump feature's meters and its last dump, fed by the service's events. */
class DumpMetricsTest {

  static final Instant NOW = Instant.parse("2026-11-22T03:00:00Z");

  final AgentMetrics metrics = new AgentMetrics("db1");
  final AtomicInteger refreshes = new AtomicInteger();
  final List<String> errors = new ArrayList<>();
  final DumpMetrics dumps = new DumpMetrics(metrics, new FeatureContext.Events() {
    @Override
    public void error(String operation, String message) {
      errors.add(operation + ": " + message);
    }

    @Override
    public void repositoryChanged() {
      refreshes.incrementAndGet();
    }
  }, Clock.fixed(NOW, ZoneOffset.UTC));

  @AfterEach
  void close() {
    metrics.close();
  }

  @Test
  void aFailedDumpIsLastDumpAnErrorAMetricAndARepositoryRefresh() {
    assertNull(dumps.lastDump());
    dumps.failed(new DumpStatus.Failure("20261122T030000Z", "", "2026-11-22T02:59:00Z",
        "2026-11-22T03:00:00Z", "shop", "pg_dump failed (exit code 1) while dumping shop", "boom"),
        Duration.ofSeconds(60));
    assertEquals("failure", dumps.lastDump().get("result"));
    assertEquals(List.of("dump 20261122T030000Z: pg_dump failed (exit code 1) while dumping shop"),
        errors);
    assertEquals(1, refreshes.get());
    assertEquals(1, Scrape.parse(metrics.scrape())
        .value("pgsidecar_backup_consecutive_failures", "kind", "dump"));
  }
}
