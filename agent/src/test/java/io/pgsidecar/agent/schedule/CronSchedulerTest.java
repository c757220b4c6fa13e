package io.pgsidecar.agent.schedule;

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
import io.pgsidecar.core.job.JobException;
import org.junit.jupiter.api.Test;

/** The one cron scheduler of base backups and dumps. */
class CronSchedulerTest {

  private static final Instant NOW = Instant.parse("2026-11-22T02:15:00Z");


  private static final class FakeTarget implements CronScheduler.Target {
    final List<String> started = new CopyOnWriteArrayList<>();
    final Optional<Instant> last;
    boolean busy;

    FakeTarget(Optional<Instant> last) {
      this.last = last;
    }

    @Override
    public Optional<Instant> lastStart() {
      return last;
    }

    @Override
    public String start(String label) {
      if (busy) {
        throw JobException.conflict("a run is under way");
      }
      started.add(label);
      return "id";
    }
  }

  private static CronScheduler scheduler(String cron, ZoneId zone, FakeTarget t) {
    return new CronScheduler("base backup", cron, CronScheduler.parse("schedule.x", "0 1 * * *", cron),
        zone, Clock.fixed(NOW, ZoneOffset.UTC), t);
  }

  @Test
  void nextRunFollowsTheConfiguredZone() {
    try (var s = scheduler("0 1 * * *", ZoneId.of("Europe/Berlin"), new FakeTarget(Optional.empty()))) {
      // 01:00 in Berlin (UTC+1 in November) is 00:00 UTC, already past today
      assertEquals(Optional.of(Instant.parse("2026-11-23T00:00:00Z")), s.nextAfter(NOW));
      assertEquals(Optional.of(Instant.parse("2026-11-22T00:00:00Z")), s.previousAt(NOW));
    }
    try (var s = scheduler("0 3 1 * *", ZoneId.of("Europe/Berlin"), new FakeTarget(Optional.empty()))) {
      assertEquals(Optional.of(Instant.parse("2026-12-01T02:00:00Z")), s.nextAfter(NOW));
    }
  }

  @Test
  void missedRunComparesTheLastStartWithThePreviousScheduledTime() {
    try (var s = scheduler("0 1 * * *", ZoneOffset.UTC, new FakeTarget(Optional.empty()))) {
      assertTrue(s.missedRun(NOW, Optional.of(Instant.parse("2026-11-21T01:00:05Z"))));
      assertFalse(s.missedRun(NOW, Optional.of(Instant.parse("2026-11-22T01:00:01Z"))));
      assertFalse(s.missedRun(NOW, Optional.of(Instant.parse("2026-11-22T01:00:00Z"))));
      assertTrue(s.missedRun(NOW, Optional.empty()));
    }
  }

  @Test
  void startRunsAMissedRunOnceAndArmsTheNextRun() {
    var t = new FakeTarget(Optional.of(Instant.parse("2026-11-21T01:00:05Z")));
    try (var s = scheduler("0 1 * * *", ZoneOffset.UTC, t)) {
      s.start();
      assertEquals(List.of("scheduled (missed run)"), t.started);
      assertEquals(Optional.of(Instant.parse("2026-11-23T01:00:00Z")), s.nextRun());
    }
  }

  @Test
  void noMissedRunWhenTheLastRunIsRecent() {
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
  void aBusyTargetIsSkippedAndTheTimerStillArmed() {
    var t = new FakeTarget(Optional.empty());
    t.busy = true;
    try (var s = scheduler("0 1 * * *", ZoneOffset.UTC, t)) {
      s.start();
      assertEquals(List.of(), t.started);
      assertEquals(Optional.of(Instant.parse("2026-11-23T01:00:00Z")), s.nextRun());
    }
  }

  @Test
  void closeForgetsTheNextRun() {
    var s = scheduler("0 1 * * *", ZoneOffset.UTC, new FakeTarget(Optional.of(NOW)));
    s.start();
    s.close();
    assertEquals(Optional.empty(), s.nextRun());
  }

  @Test
  void aBadExpressionNamesTheKeyOfEachSchedule() {
    var base = assertThrows(IllegalArgumentException.class,
        () -> io.pgsidecar.agent.backup.BackupScheduler.parse("0 1 * *"));
    assertTrue(base.getMessage().startsWith("schedule.base-backup '0 1 * *' is not a 5-field cron "
        + "expression (minute hour day-of-month month day-of-week, e.g. '0 1 * * *'): "),
        base.getMessage());
    var dump = assertThrows(IllegalArgumentException.class,
        () -> CronScheduler.parse("schedule.dump", "0 3 1 * *", "every day"));
    assertTrue(dump.getMessage().startsWith("schedule.dump 'every day' is not a 5-field cron"
        + " expression (minute hour day-of-month month day-of-week, e.g. '0 3 1 * *'): "),
        dump.getMessage());
  }
}
