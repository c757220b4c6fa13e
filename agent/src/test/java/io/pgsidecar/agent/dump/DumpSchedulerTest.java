package io.pgsidecar.agent.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DumpSchedulerTest {

  static final Instant NOW = Instant.parse("2026-11-22T02:15:00Z");

  DumpScheduler monthly(List<String> started, Optional<Instant> last) {
    return new DumpScheduler("0 3 1 * *", ZoneId.of("Europe/Berlin"),
        Clock.fixed(NOW, ZoneOffset.UTC), new DumpScheduler.Target() {
          @Override
          public Optional<Instant> lastDumpStart() {
            return last;
          }

          @Override
          public String startDump(String label) {
            started.add(label);
            return "20261122T021500Z";
          }
        });
  }

  @Test
  void nextRunFollowsTheExpressionInTheConfiguredZone() {
    try (DumpScheduler s = monthly(new ArrayList<>(), Optional.of(NOW))) {
      assertEquals(Optional.of(Instant.parse("2026-12-01T02:00:00Z")), s.nextAfter(NOW));
    }
  }

  @Test
  void aRunMissedWhileTheAgentWasDownStartsOnceAtStartUp() {
    List<String> started = new ArrayList<>();
    try (DumpScheduler s = monthly(started, Optional.of(Instant.parse("2026-10-01T02:00:05Z")))) {
      s.start();
      assertEquals(List.of("scheduled (missed run)"), started);
      assertEquals(Optional.of(Instant.parse("2026-12-01T02:00:00Z")), s.nextRun());
    }
    List<String> none = new ArrayList<>();
    try (DumpScheduler s = monthly(none, Optional.of(Instant.parse("2026-11-01T02:00:05Z")))) {
      s.start();
      assertEquals(List.of(), none);
    }
  }

  @Test
  void missedRunComparesWithThePreviousScheduledTime() {
    try (DumpScheduler s = monthly(new ArrayList<>(), Optional.empty())) {
      assertTrue(s.missedRun(NOW, Optional.empty()));
      assertFalse(s.missedRun(NOW, Optional.of(Instant.parse("2026-11-01T02:00:00Z"))));
      assertTrue(s.missedRun(NOW, Optional.of(Instant.parse("2026-11-01T01:59:59Z"))));
    }
  }

  @Test
  void aBadExpressionNamesTheKey() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> DumpScheduler.parse("every day"));
    assertTrue(e.getMessage().startsWith("schedule.dump 'every day' is not a 5-field cron"
        + " expression (minute hour day-of-month month day-of-week, e.g. '0 3 1 * *'): "),
        e.getMessage());
  }
}
