package io.pgsidecar.agent.status;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.metrics.Scrape;
import io.pgsidecar.agent.wal.archive.WalEvents.Outcome;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AgentActivityTest {

  static final Instant NOW = Instant.parse("2026-11-22T03:00:00Z");

  final AgentMetrics metrics = new AgentMetrics("db1");
  final AtomicInteger refreshes = new AtomicInteger();
  final AgentActivity activity = new AgentActivity(metrics, Clock.fixed(NOW, ZoneOffset.UTC),
      refreshes::incrementAndGet);

  @AfterEach
  void close() {
    metrics.close();
  }

  @Test
  void theErrorListKeepsTheNewestTwentyAndCountsARepeatInsteadOfListingIt() {
    for (int i = 0; i < 25; i++) {
      activity.error("archiving pg_wal/" + i, "storage down");
    }
    activity.error("archiving pg_wal/24", "storage down");
    var errors = activity.errors();
    assertEquals(AgentActivity.MAX_ERRORS, errors.size());
    assertEquals("archiving pg_wal/24", errors.get(0).operation());
    assertEquals(2, errors.get(0).count());
    assertEquals("archiving pg_wal/5", errors.get(errors.size() - 1).operation());
  }

  @Test
  void walEventsReachTheMetricsAndTheStatus() {
    activity.pushed(Outcome.OK, 16 << 20, 1 << 20, Duration.ofMillis(30));
    activity.pushed(Outcome.ERROR, 0, 0, Duration.ofMillis(30));
    activity.archived("000000010000000000000003", NOW);
    activity.readyPending(4);
    activity.lookaheadHit();
    var wal = activity.wal();
    assertEquals("000000010000000000000003", wal.get("lastArchivedSegment"));
    assertEquals(NOW.toString(), wal.get("lastArchivedAt"));
    assertEquals(4, wal.get("readyBacklog"));
    assertEquals(1L, wal.get("pushesOk"));
    assertEquals(1L, wal.get("pushesFailed"));
    assertEquals(1L, wal.get("lookaheadHits"));
    Scrape scrape = Scrape.parse(metrics.scrape());
    assertEquals(1, scrape.value("pgsidecar_wal_pushes_total", "result", "error"));
    assertEquals(4, scrape.value("pgsidecar_wal_ready_segments"));
  }

  @Test
  void theRecoverableWindowEndsAtTheLastArchivedSegmentOnceABackupExists() {
    activity.archived("000000010000000000000003", NOW);
    activity.window(NOW.minusSeconds(3600), NOW.minusSeconds(60));
    Scrape scrape = Scrape.parse(metrics.scrape());
    assertEquals(NOW.getEpochSecond(), scrape.value("pgsidecar_recoverability_last_timestamp_seconds"));
    assertEquals(NOW.minusSeconds(3600).getEpochSecond(),
        scrape.value("pgsidecar_recoverability_first_timestamp_seconds"));
  }
}
