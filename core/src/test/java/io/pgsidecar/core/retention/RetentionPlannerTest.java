package io.pgsidecar.core.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.retention.History.Backup;
import io.pgsidecar.core.retention.History.Clock;
import io.pgsidecar.core.retention.History.Event;
import io.pgsidecar.core.retention.History.Fork;
import io.pgsidecar.core.retention.History.Wal;
import io.pgsidecar.core.retention.Plan.Decision;
import io.pgsidecar.core.retention.Plan.Subject;
import io.pgsidecar.core.retention.RepositoryListing.BackupEntry;
import io.pgsidecar.core.retention.RepositoryListing.BackupPoint;
import io.pgsidecar.core.retention.RetentionPolicy.Gfs;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.wal.Lsn;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class RetentionPlannerTest {

  private static RetentionPolicy base(KindPolicy p) {
    return new RetentionPolicy(p, KindPolicy.NONE, Duration.ofDays(3));
  }

  /** A complete backup ending at {@code stop} on timeline 1, its start segment {@code pos}. */
  private static BackupEntry backup(Instant stop, long pos) {
    String id = History.LAYOUT.baseRoot().isEmpty() ? "" : idOf(stop);
    List<ObjectInfo> objects = List.of(
        new ObjectInfo(History.LAYOUT.baseData(id, ".zst"), 1000, stop, new ObjectMetadata("", 1, "zstd", "")),
        new ObjectInfo(History.LAYOUT.baseManifest(id), 10, stop, new ObjectMetadata("", 1, "none", "")));
    return new BackupEntry(id, Optional.of(new BackupPoint(1, new Lsn(pos * History.SEG + 40),
        new Lsn(pos * History.SEG + 100), stop)), false, objects);
  }

  private static String idOf(Instant t) {
    return t.toString().replace("-", "").replace(":", "");
  }

  private static Map<String, String> rules(List<Decision> decisions, Subject subject) {
    return decisions.stream().filter(d -> d.subject() == subject)
        .collect(Collectors.toMap(Decision::id, d -> d.rule().label(), (a, b) -> a, TreeMap::new));
  }

  @Test
  void gfsFillsOneSlotPerUtcPeriodAndEachBackupFillsAtMostOne() {
    List<BackupEntry> backups = new ArrayList<>();
    long pos = 1;
    for (LocalDate d = LocalDate.parse("2026-01-01"); !d.isAfter(LocalDate.parse("2026-03-31")); d = d.plusDays(1)) {
      backups.add(backup(d.atTime(2, 0).toInstant(ZoneOffset.UTC), pos++));
    }
    Plan plan = RetentionPlanner.plan(new RepositoryListing(backups, List.of(), List.of()),
        Instant.parse("2026-03-31T12:00:00Z"), base(new KindPolicy(0, Optional.empty(), new Gfs(3, 2, 2, 0))));
    assertEquals(Map.of(
        "20260331T020000Z", "newest",
        "20260330T020000Z", "gfs-daily", "20260329T020000Z", "gfs-daily", "20260328T020000Z", "gfs-daily",
        // 03-28 and 03-29 are in 2026-W13, 03-30 and 03-31 in W14: weekly starts at W12
        "20260322T020000Z", "gfs-weekly", "20260315T020000Z", "gfs-weekly",
        // March is covered: monthly starts at February
        "20260228T020000Z", "gfs-monthly", "20260131T020000Z", "gfs-monthly"),
        rules(plan.kept(), Subject.BASE_BACKUP));
    assertEquals(90 - 8, plan.removed().size());
    Decision weekly = plan.kept().stream().filter(d -> d.id().equals("20260322T020000Z")).findFirst().orElseThrow();
    assertEquals("newest of weekly 2026-W12 (gfs.weekly 2, UTC)", weekly.reason());
  }

  /**
   * With 64 MiB segments the backup starting at LSN 0/4000028 starts in segment ...0001, which
   * 16 MiB arithmetic would call ...0004: the segments it needs must not look older than it.
   */
  @Test
  void walPositionsUseTheArchivesSegmentSize() {
    long size = 64L << 20;
    Instant t = Instant.parse("2026-01-01T02:00:00Z");
    String id = idOf(t);
    BackupEntry b = new BackupEntry(id, Optional.of(new BackupPoint(1, new Lsn(size + 40),
        new Lsn(size + 100), t)), false, List.of(new ObjectInfo(History.LAYOUT.baseManifest(id), 10,
        t, new ObjectMetadata("", 1, "none", ""))));
    List<ObjectInfo> wal = new ArrayList<>();
    for (String name : List.of("000000010000000000000000", "000000010000000000000001",
        "000000010000000000000002", "000000010000000100000000")) {
      wal.add(new ObjectInfo(History.LAYOUT.walKey(name, ".zst"), 100, t,
          new ObjectMetadata("", 1, "zstd", "")));
    }
    Plan plan = RetentionPlanner.plan(new RepositoryListing(List.of(b), List.of(), wal, Map.of(),
        List.of(), size), t.plusSeconds(3600), base(new KindPolicy(1, Optional.empty(), Gfs.NONE)));
    assertEquals(Map.of("000000010000000000000000", "wal-unneeded"), rules(plan.removed(), Subject.WAL));
    assertEquals(Map.of("000000010000000000000001", "wal-pitr", "000000010000000000000002", "wal-pitr",
        "000000010000000100000000", "wal-pitr"), rules(plan.kept(), Subject.WAL));
    assertEquals("before segment 000000010000000000000001 of base backup " + id + ", the oldest kept"
        + " for point-in-time recovery that reaches timeline 1", plan.removed().get(0).reason());
  }

  @Test
  void gfsWeeksAreIsoWeeksAcrossTheYearBoundary() {
    List<BackupEntry> backups = List.of(
        backup(Instant.parse("2025-12-28T10:00:00Z"), 1), // Sunday, 2025-W52
        backup(Instant.parse("2025-12-30T10:00:00Z"), 2), // Tuesday, 2026-W01
        backup(Instant.parse("2026-01-02T10:00:00Z"), 3), // Friday, 2026-W01
        backup(Instant.parse("2026-01-05T10:00:00Z"), 4)); // Monday, 2026-W02
    Plan plan = RetentionPlanner.plan(new RepositoryListing(backups, List.of(), List.of()),
        Instant.parse("2026-01-05T12:00:00Z"), base(new KindPolicy(0, Optional.empty(), new Gfs(0, 3, 0, 0))));
    assertEquals(Map.of("20260105T100000Z", "newest", "20260102T100000Z", "gfs-weekly",
        "20251228T100000Z", "gfs-weekly"), rules(plan.kept(), Subject.BASE_BACKUP));
    assertEquals(Map.of("20251230T100000Z", "expired"), rules(plan.removed(), Subject.BASE_BACKUP));
    assertEquals("kept by no rule (gfs daily 0 weekly 3 monthly 0 yearly 0); ended 2025-12-30T10:00:00Z",
        plan.removed().get(0).reason());
  }

  @Test
  void windowKeepsWhatEndedInsideItTheNewestBeforeItAndTheWalFromThatOneOn() {
    History h = new History(Instant.parse("2026-03-01T00:00:00Z"), List.of(
        new Wal(5), new Backup(0, true, false), new Wal(5), new Clock(30),
        new Backup(0, true, false), new Wal(5), new Clock(30),
        new Backup(0, true, false), new Wal(5), new Clock(30),
        new Backup(0, true, false), new Wal(5)));
    Instant now = h.time.plus(Duration.ofHours(1));
    Plan plan = RetentionPlanner.plan(h.listing(null, true), now,
        base(new KindPolicy(0, Optional.of(Duration.ofHours(40)), Gfs.NONE)));
    // backups end at about 0h, 30h, 60h, 90h; the window starts at 91h - 40h = 51h
    assertEquals(Map.of(h.backups.get(0).id(), "expired"), rules(plan.removed(), Subject.BASE_BACKUP));
    assertEquals(Map.of(h.backups.get(1).id(), "window", h.backups.get(2).id(), "window",
        h.backups.get(3).id(), "newest"), rules(plan.kept(), Subject.BASE_BACKUP));
    // WAL before the anchor's (backup 1's) start segment goes, from it on stays
    long anchorStart = h.backups.get(1).startPos();
    for (Decision d : plan.removed()) {
      if (d.subject() == Subject.WAL) {
        assertTrue(History.name(1, anchorStart).name().compareTo(d.id()) > 0, d.id());
        assertEquals("wal-unneeded", d.rule().label());
      }
    }
    assertEquals((int) (anchorStart - 3), (int) plan.removedCounts().get(Subject.WAL));
  }

  @Test
  void aPermanentBackupKeepsOnlyTheWalToItsConsistency() {
    History h = new History(Instant.parse("2026-03-01T00:00:00Z"), List.of(
        new Wal(5), new Backup(2, true, true), new Wal(5), new Wal(5), new Wal(5),
        new Backup(0, true, false), new Wal(5)));
    Plan plan = RetentionPlanner.plan(h.listing(null, true), h.time,
        base(new KindPolicy(1, Optional.empty(), Gfs.NONE)));
    var permanent = h.backups.get(0);
    assertEquals(Map.of(permanent.id(), "permanent", h.backups.get(1).id(), "newest"),
        rules(plan.kept(), Subject.BASE_BACKUP));
    Map<String, String> wal = rules(plan.kept(), Subject.WAL);
    for (long pos = permanent.startPos(); pos <= permanent.stopPos(); pos++) {
      assertEquals("wal-consistency", wal.get(History.name(1, pos).name()));
    }
    assertEquals(Map.of(
        "000000010000000000000003", "wal-unneeded", // before the permanent backup
        "000000010000000000000007", "wal-unneeded", "000000010000000000000008", "wal-unneeded",
        "000000010000000000000009", "wal-unneeded"), rules(plan.removed(), Subject.WAL));
  }

  @Test
  void withoutAPolicyNothingIsRemovedNotEvenOrphans() {
    History h = new History(Instant.parse("2026-03-01T00:00:00Z"), List.of(
        new Backup(0, false, false), new Wal(5), new Backup(0, true, false), new Wal(5)));
    Plan plan = RetentionPlanner.plan(h.listing(null, true), h.time.plus(Duration.ofDays(30)),
        RetentionPolicy.none());
    assertEquals(List.of(), plan.removed());
    assertTrue(plan.kept().stream().allMatch(d -> d.rule() == Plan.Rule.NO_POLICY), plan.kept().toString());
  }

  @Test
  void unfinishedBackupsGoOnlyWhenOlderThanTheOrphanAgeAndForeignFoldersStay() {
    History h = new History(Instant.parse("2026-03-01T00:00:00Z"), List.of(
        new Backup(0, false, false), new Wal(5), new Clock(50), new Backup(0, true, false),
        new Backup(0, false, false), new Wal(5)));
    RepositoryListing l = h.listing(null, true);
    List<BackupEntry> backups = new ArrayList<>(l.backups());
    backups.add(new BackupEntry("manual-copy", Optional.empty(), false, List.of(new ObjectInfo(
        History.LAYOUT.baseDir("manual-copy") + "x.tar", 5, h.time, new ObjectMetadata("", 5, "", "")))));
    Plan plan = RetentionPlanner.plan(new RepositoryListing(backups, l.dumps(), l.wal(), l.histories()),
        h.time, new RetentionPolicy(new KindPolicy(5, Optional.empty(), Gfs.NONE), KindPolicy.NONE,
            Duration.ofHours(48)));
    String old = h.backups.get(0).id();
    assertEquals(Map.of(old, "orphan"), rules(plan.removed(), Subject.UNFINISHED_BACKUP));
    assertEquals("unfinished (no backup.json), started 2026-03-01T00:00:30Z, more than"
        + " retention.orphan-age 2d ago", plan.removed().get(0).reason());
    assertEquals(Map.of(h.backups.get(2).id(), "unfinished", "manual-copy", "not-ours"),
        rules(plan.kept(), Subject.UNFINISHED_BACKUP));
  }

  @Test
  void anUnfinishedBackupOlderThanTheNewestCompleteOneIsNoLongerRunning() {
    History h = new History(Instant.parse("2026-03-01T00:00:00Z"), List.of(
        new Backup(0, false, false), new Wal(5), new Backup(0, true, false), new Wal(5)));
    Plan plan = RetentionPlanner.plan(h.listing(null, true), h.time,
        base(new KindPolicy(5, Optional.empty(), Gfs.NONE)));
    Decision d = plan.removed().get(0);
    assertEquals(h.backups.get(0).id(), d.id());
    assertEquals("unfinished (no backup.json) and older than the newest complete base backup "
        + h.backups.get(1).id() + ", so no longer running (one base backup runs at a time): an"
        + " interrupted one, or one a run removed partly", d.reason());
  }

  @Test
  void withoutACompleteBackupNoWalIsRemoved() {
    History h = new History(Instant.parse("2026-03-01T00:00:00Z"), List.of(
        new Wal(5), new Wal(5), new Clock(500), new Wal(5)));
    Plan plan = RetentionPlanner.plan(h.listing(null, true), h.time,
        base(new KindPolicy(1, Optional.of(Duration.ofHours(1)), Gfs.NONE)));
    assertEquals(List.of(), plan.removed());
    assertEquals(3, plan.keptCounts().get(Subject.WAL).get(Plan.Rule.WAL_NO_BACKUP));
  }

  @Test
  void aRestoreToThePastKeepsTheNewestBackupInTheNewTimelinesHistory() {
    // backup A on timeline 1, more WAL, backup B on timeline 1, then a restore to before B
    // (timeline 2 forks 5 segments back): B is not in timeline 2's history, A is
    List<Event> events = List.of(new Wal(5), new Backup(0, true, false), new Wal(5), new Wal(5),
        new Wal(5), new Backup(0, true, false), new Wal(5), new Fork(5), new Wal(5), new Wal(5));
    History h = new History(Instant.parse("2026-03-01T00:00:00Z"), events);
    KindPolicy newestOnly = new KindPolicy(1, Optional.empty(), Gfs.NONE);
    Plan plan = RetentionPlanner.plan(h.listing(null, true), h.time, base(newestOnly));
    assertEquals(Map.of(h.backups.get(0).id(), "newest", h.backups.get(1).id(), "newest"),
        rules(plan.kept(), Subject.BASE_BACKUP));
    Decision a = plan.kept().stream().filter(d -> d.id().equals(h.backups.get(0).id())).findFirst().orElseThrow();
    assertEquals("the newest base backup in the history of timeline 2, the newest timeline", a.reason());
    // timeline 2's WAL from A's start on stays
    assertEquals(Map.of("000000010000000000000003", "wal-unneeded"), rules(plan.removed(), Subject.WAL));

    // a backup before the window, in a dead branch: the window's anchor is the one before the fork
    List<Event> later = new ArrayList<>(events);
    later.addAll(List.of(new Clock(10), new Backup(0, true, false), new Wal(5)));
    History h2 = new History(Instant.parse("2026-03-01T00:00:00Z"), later);
    Plan windowed = RetentionPlanner.plan(h2.listing(null, true), h2.time,
        base(new KindPolicy(0, Optional.of(Duration.ofHours(5)), Gfs.NONE)));
    assertEquals(Map.of(h2.backups.get(0).id(), "window", h2.backups.get(2).id(), "newest"),
        rules(windowed.kept(), Subject.BASE_BACKUP));
    assertEquals(Map.of(h2.backups.get(1).id(), "expired"), rules(windowed.removed(), Subject.BASE_BACKUP));

    // the same with history files that cannot be read: both candidates are kept
    Plan unknown = RetentionPlanner.plan(h2.listing(null, false), h2.time,
        base(new KindPolicy(0, Optional.of(Duration.ofHours(5)), Gfs.NONE)));
    assertEquals(Map.of(h2.backups.get(0).id(), "window", h2.backups.get(1).id(), "window",
        h2.backups.get(2).id(), "newest"), rules(unknown.kept(), Subject.BASE_BACKUP));
  }

  @Test
  void historyFilesBelowEveryKeptTimelineGoButTheNewestStays() {
    History h = new History(Instant.parse("2026-03-01T00:00:00Z"), List.of(
        new Wal(5), new Fork(0), new Wal(5), new Fork(0), new Wal(5), new Backup(0, true, false),
        new Wal(5)));
    Plan plan = RetentionPlanner.plan(h.listing(null, true), h.time,
        base(new KindPolicy(1, Optional.empty(), Gfs.NONE)));
    assertEquals(Map.of("00000002.history", "timeline-unreachable"), rules(plan.removed(), Subject.HISTORY));
    assertEquals(Map.of("00000003.history", "timeline-needed"), rules(plan.kept(), Subject.HISTORY));
    // the deletion order: backups, then WAL by timeline and position, then history files
    List<Subject> order = plan.removed().stream().map(Decision::subject).distinct().toList();
    assertEquals(List.of(Subject.WAL, Subject.HISTORY), order);
  }
}
