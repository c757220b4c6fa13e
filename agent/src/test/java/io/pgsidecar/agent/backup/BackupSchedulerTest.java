package io.pgsidecar.agent.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class BackupSchedulerTest {

  private static final Instant NOW = Instant.parse("2026-11-22T02:15:00Z");

  private static final class FakeTarget implements BackupScheduler.Target {
    final List<String> started = new CopyOnWriteArrayList<>();
    Optional<Instant> last;

    FakeTarget(Optional<Instant> last) {
      this.last = last;
    }

    @Override
    public Optional<Instant> lastBackupStart() {
      return last;
    }

    @Override
    public String startBackup(String label) {
      started.add(label);
      return "id";
    }
  }

  private static BackupScheduler scheduler(String cron, ZoneId zone, FakeTarget t) {
    return new BackupScheduler(cron, zone, Clock.fixed(NOW, ZoneOffset.UTC), t);
  }

  @Test
  void nextRunFollowsTheConfiguredZone() {
    try (var s = scheduler("0 1 * * *", ZoneId.of("Europe/Berlin"), new FakeTarget(Optional.empty()))) {
      // 01:00 in Berlin (UTC+1 in November) is 00:00 UTC, already past today
      assertEquals(Optional.of(Instant.parse("2026-11-23T00:00:00Z")), s.nextAfter(NOW));
      assertEquals(Optional.of(Instant.parse("2026-11-22T00:00:00Z")), s.previousAt(NOW));
    }
  }

  @Test
  void missedRunIsDetectedFromTheLastBackupStart() {
    try (var s = scheduler("0 1 * * *", ZoneOffset.UTC, new FakeTarget(Optional.empty()))) {
      assertTrue(s.missedRun(NOW, Optional.of(Instant.parse("2026-11-21T01:00:05Z"))));
      assertFalse(s.missedRun(NOW, Optional.of(Instant.parse("2026-11-22T01:00:01Z"))));
      assertTrue(s.missedRun(NOW, Optional.empty()));
    }
  }

  @Test
  void startRunsAMissedBackupOnceAndArmsTheNextRun() {
    var t = new FakeTarget(Optional.of(Instant.parse("2026-11-21T01:00:05Z")));
    try (var s = scheduler("0 1 * * *", ZoneOffset.UTC, t)) {
      s.start();
      assertEquals(List.of("scheduled (missed run)"), t.started);
      assertEquals(Optional.of(Instant.parse("2026-11-23T01:00:00Z")), s.nextRun());
    }
  }

  @Test
  void noMissedRunWhenTheLastBackupIsRecent() {
    var t = new FakeTarget(Optional.of(Instant.parse("2026-11-22T01:00:02Z")));
    try (var s = scheduler("*/30 * * * *", ZoneOffset.UTC, t)) {
      s.start();
      assertEquals(List.of("scheduled (missed run)"), t.started); // 02:00 run was missed
    }
    var t2 = new FakeTarget(Optional.of(Instant.parse("2026-11-22T02:00:02Z")));
    try (var s = scheduler("*/30 * * * *", ZoneOffset.UTC, t2)) {
      s.start();
      assertEquals(List.of(), t2.started);
      assertEquals(Optional.of(Instant.parse("2026-11-22T02:30:00Z")), s.nextRun());
    }
  }

  @Test
  void badExpressionNamesTheKey() {
    var e = assertThrows(IllegalArgumentException.class, () -> BackupScheduler.parse("0 1 * *"));
    assertTrue(e.getMessage().startsWith("schedule.base-backup '0 1 * *' is not a 5-field cron "
        + "expression (minute hour day-of-month month day-of-week, e.g. '0 1 * * *'): "),
        e.getMessage());
  }
}
