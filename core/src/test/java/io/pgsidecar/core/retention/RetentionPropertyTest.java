package io.pgsidecar.core.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgsidecar.core.Fuzz;
import io.pgsidecar.core.retention.History.Event;
import io.pgsidecar.core.retention.History.Moment;
import io.pgsidecar.core.retention.History.SimBackup;
import io.pgsidecar.core.retention.Plan.Decision;
import io.pgsidecar.core.retention.Plan.Rule;
import io.pgsidecar.core.retention.Plan.Subject;
import io.pgsidecar.core.retention.RepositoryListing.DumpEntry;
import io.pgsidecar.core.retention.RetentionPolicy.Gfs;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Retention on thousands of random histories (base backups, unfinished ones, dumps, permanent
 * marks, timeline switches by promotion and by restores to the past, WAL, time passing) and
 * random policies: after the plan is applied, every moment the policy promises is still
 * restorable (a stored backup at or before it, and every segment from that backup's start
 * through the moment on the right timeline, and that timeline's history file), nothing permanent
 * is gone, every kept base backup still reaches consistency, and planning again removes nothing.
 * Restorability is computed from the simulated history ({@link History}), not by the planner.
 *
 * <p>Plain JUnit 5 with a {@link Random} seeded from {@code -Dpgsidecar.fuzz.seed}, not jqwik:
 * jqwik's engine asks AI agents not to use it. A failure prints the seed and the failing history
 * shrunk to the fewest events that still fail. {@code -Dpgsidecar.fuzz.count} sets how many
 * histories run (default 2000).
 */
class RetentionPropertyTest {

  /** One random input: a history, a policy, how long after its last event retention runs. */
  record Case(Instant start, List<Event> events, RetentionPolicy policy, int laterHours,
      boolean historiesReadable) {
    @Override
    public String toString() {
      return "start " + start + ", retention " + laterHours + "h after the last event, history files "
          + (historiesReadable ? "readable" : "unreadable") + "\nbase backups: "
          + policy.baseBackups().describe() + "; dumps: " + policy.dumps().describe()
          + "; orphan-age " + Durations.format(policy.orphanAge())
          + (policy.baseBackupTiers().isSet() ? "; tiers " + policy.baseBackupTiers() : "") + "\n"
          + events.stream().map(e -> "  " + e).collect(Collectors.joining("\n"));
    }
  }

  @Test
  void everyPromisedMomentStaysRestorableAndPlanningAgainRemovesNothing() {
    long seed = Fuzz.seed(getClass());
    int count = Integer.getInteger("pgsidecar.fuzz.count", 2000);
    Random random = new Random(seed);
    long removedTotal = 0;
    for (int i = 0; i < count; i++) {
      Case c = randomCase(random);
      String failure = check(c);
      if (failure != null) {
        Case small = shrink(c);
        fail("seed " + seed + ", history " + i + ": " + check(small) + "\nshrunk history ("
            + small.events().size() + " of " + c.events().size() + " events):\n" + small);
      }
      removedTotal += removedCount(c);
    }
    System.out.println("RetentionPropertyTest: " + count + " histories, " + removedTotal
        + " objects removed in all");
    // the histories must exercise removal at all, or the test proves nothing
    assertEquals(true, removedTotal > count, "too few removals: " + removedTotal);
  }

  /** The checker finds a planted bug: a planner that forgets the window's anchor backup. */
  @Test
  void aPlanThatDropsTheWindowAnchorIsCaught() {
    List<Event> events = List.of(new History.Wal(10), new History.Backup(1, true, false),
        new History.Wal(60), new History.Clock(48), new History.Backup(1, true, false),
        new History.Wal(60));
    RetentionPolicy policy = new RetentionPolicy(new KindPolicy(0, Optional.of(Duration.ofHours(24)),
        Gfs.NONE), KindPolicy.NONE, Duration.ofDays(3));
    Case c = new Case(Instant.parse("2026-03-01T00:00:00Z"), events, policy, 1, true);
    assertEquals(null, check(c));
    History h = new History(c.start(), c.events());
    Set<String> present = h.allKeys();
    present.remove(History.LAYOUT.baseManifest(h.backups.get(0).id()));
    Moment first = h.moments().stream().filter(m -> !m.at().isBefore(h.time.plusSeconds(3600)
        .minus(Duration.ofHours(24)))).findFirst().orElseThrow();
    assertEquals(false, h.restorable(first, present), first.toString());
  }

  static long removedCount(Case c) {
    History h = new History(c.start(), c.events());
    return RetentionPlanner.plan(h.listing(null, c.historiesReadable()), now(c, h), c.policy())
        .removedObjects();
  }

  static Instant now(Case c, History h) {
    return h.time.plus(Duration.ofHours(c.laterHours()));
  }

  /** What is wrong with retention on this case, or null when nothing is. */
  static String check(Case c) {
    History h = new History(c.start(), c.events());
    Instant now = now(c, h);
    RepositoryListing before = h.listing(null, c.historiesReadable());
    Plan plan = RetentionPlanner.plan(before, now, c.policy());

    int items = before.backups().size() + before.dumps().size() + before.wal().size() + before.debris().size();
    if (plan.kept().size() + plan.removed().size() != items) {
      return "the plan decides " + (plan.kept().size() + plan.removed().size()) + " items, the listing has " + items;
    }
    String interrupted = interruptedRun(c, h, plan, now);
    if (interrupted != null) {
      return interrupted;
    }
    Set<String> present = apply(h, plan);

    for (Plan.TierChange t : plan.tiers()) {
      if (!present.contains(t.object().key()) || t.object().key().endsWith("/backup.json")) {
        return "tier " + t.tier() + " planned for " + t.object().key() + ", which is removed or a manifest";
      }
    }
    for (SimBackup b : h.backups) {
      if (b.permanent() && b.complete() && !present.containsAll(keys(h.backupObjects.get(b.id())))) {
        return "permanent base backup " + b.id() + " lost objects";
      }
    }
    for (DumpEntry d : h.dumps) {
      if (d.permanent() && !present.containsAll(keys(d.objects()))) {
        return "permanent dump " + d.id() + " lost objects";
      }
    }
    KindPolicy base = c.policy().baseBackups();
    if (!base.isSet()) {
      for (Decision d : plan.removed()) {
        if (EnumSet.of(Subject.BASE_BACKUP, Subject.UNFINISHED_BACKUP, Subject.WAL, Subject.HISTORY)
            .contains(d.subject())) {
          return "no base-backup policy, yet " + d.subject() + " " + d.id() + " was removed (" + d.reason() + ")";
        }
      }
    } else {
      String broken = promisesKept(c, h, plan, present, now);
      if (broken != null) {
        return broken;
      }
    }
    String dumps = dumpPromises(c, h, present, now);
    if (dumps != null) {
      return dumps;
    }
    Plan again = RetentionPlanner.plan(h.listing(present, c.historiesReadable()), now, c.policy());
    if (!again.removed().isEmpty()) {
      Decision d = again.removed().get(0);
      return "planning again removes " + again.removed().size() + " more, first " + d.subject() + " "
          + d.id() + " (" + d.rule().label() + ": " + d.reason() + ")";
    }
    return null;
  }

  private static String promisesKept(Case c, History h, Plan plan, Set<String> present, Instant now) {
    Set<String> all = h.allKeys();
    KindPolicy base = c.policy().baseBackups();
    List<Moment> moments = h.moments();
    if (base.window().isPresent()) {
      Instant start = now.minus(base.window().get());
      for (Moment m : moments) {
        if (!m.at().isBefore(start) && h.restorable(m, all) && !h.restorable(m, present)) {
          return "the window (" + base.describe() + ") promises " + m + ", which is no longer restorable";
        }
      }
    }
    List<SimBackup> newestFirst = h.backups.stream().filter(SimBackup::complete)
        .sorted(Comparator.comparing(SimBackup::stopTime).thenComparing(SimBackup::id).reversed()).toList();
    List<SimBackup> promised = new ArrayList<>(newestFirst.stream().limit(1).toList());
    promised.addAll(newestFirst.stream().filter(b -> !b.permanent()).limit(base.keepNewest()).toList());
    for (SimBackup b : promised) {
      for (Moment m : moments) {
        if (h.restorable(m, b, all) && !h.restorable(m, present)) {
          return "base backup " + b.id() + " is among the newest (" + base.describe() + "), so " + m
              + " was promised; it is no longer restorable";
        }
      }
    }
    Set<String> keptIds = plan.kept().stream().filter(d -> d.subject() == Subject.BASE_BACKUP)
        .map(Decision::id).collect(Collectors.toSet());
    for (SimBackup b : h.backups) {
      if ((b.complete() && b.permanent()) || keptIds.contains(b.id())) {
        Moment end = new Moment(b.timeline(), b.stopTime(), b.stopPos());
        if (!h.restorable(end, b, present)) {
          return "kept base backup " + b.id() + " (" + (b.permanent() ? "permanent" : rule(plan, b.id()))
              + ") no longer reaches consistency at " + end;
        }
      }
    }
    return null;
  }

  /**
   * The run stops at a delete chosen from the case (a storage failure): what it left must keep
   * every promise too (no complete backup left without the WAL it needs to reach consistency, as
   * the deletion order promises), and planning and applying again from there ends where one
   * uninterrupted run ends.
   */
  private static String interruptedRun(Case c, History h, Plan plan, Instant now) {
    long total = plan.removedObjects();
    if (total == 0) {
      return null;
    }
    int failAt = (int) (Math.floorMod(c.events().size() * 31L + c.laterHours(), total));
    Set<String> left;
    try {
      Recording storage = new Recording(h.allKeys());
      storage.failAt = failAt;
      try {
        new RetentionExecutor(storage.view, History.LAYOUT, (d, o, e) -> {}).apply(plan);
        return "the run did not stop at delete " + failAt + " of " + total;
      } catch (io.pgsidecar.core.job.JobException expected) {
        // stopped: what is left must still keep the promises
      }
      left = new HashSet<>(storage.keys());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (SimBackup b : h.backups) {
      if (b.complete() && left.contains(History.LAYOUT.baseManifest(b.id()))
          && !h.restorable(new Moment(b.timeline(), b.stopTime(), b.stopPos()), b, left)
          && h.restorable(new Moment(b.timeline(), b.stopTime(), b.stopPos()), b, h.allKeys())) {
        return "a run stopped at delete " + failAt + " of " + total + " left base backup " + b.id()
            + " listed without the WAL it needs to reach consistency";
      }
    }
    if (c.policy().baseBackups().isSet()) {
      String broken = promisesKept(c, h, plan, left, now);
      if (broken != null) {
        return "after a run stopped at delete " + failAt + " of " + total + ": " + broken;
      }
    }
    Plan next = RetentionPlanner.plan(h.listing(left, c.historiesReadable()), now, c.policy());
    Set<String> finished = new HashSet<>(left);
    next.removed().forEach(d -> d.objects().forEach(o -> finished.remove(o.key())));
    Set<String> once = new HashSet<>(h.allKeys());
    plan.removed().forEach(d -> d.objects().forEach(o -> once.remove(o.key())));
    if (!finished.equals(once)) {
      Set<String> diff = new java.util.TreeSet<>(finished);
      diff.removeAll(once);
      Set<String> lost = new java.util.TreeSet<>(once);
      lost.removeAll(finished);
      return "a run stopped at delete " + failAt + " and continued does not end where one run ends:"
          + " left over " + diff + ", removed too " + lost;
    }
    return null;
  }

  private static String rule(Plan plan, String id) {
    return plan.kept().stream().filter(d -> d.id().equals(id)).map(d -> d.rule().label()).findFirst().orElse("?");
  }

  private static String dumpPromises(Case c, History h, Set<String> present, Instant now) {
    KindPolicy p = c.policy().dumps();
    List<DumpEntry> complete = h.dumps.stream().filter(DumpEntry::complete)
        .sorted(Comparator.comparing((DumpEntry d) -> d.stopTime().orElseThrow()).reversed()).toList();
    if (!p.isSet()) {
      for (DumpEntry d : h.dumps) {
        if (!present.containsAll(keys(d.objects()))) {
          return "no dump policy, yet dump " + d.id() + " lost objects";
        }
      }
      return null;
    }
    List<DumpEntry> promised = new ArrayList<>(complete.stream().limit(1).toList());
    promised.addAll(complete.stream().filter(d -> !d.permanent()).limit(p.keepNewest()).toList());
    p.window().ifPresent(w -> {
      complete.stream().filter(d -> d.stopTime().orElseThrow().isAfter(now.minus(w))).forEach(promised::add);
      complete.stream().filter(d -> !d.stopTime().orElseThrow().isAfter(now.minus(w))).findFirst()
          .ifPresent(promised::add);
    });
    for (DumpEntry d : promised) {
      if (!present.containsAll(keys(d.objects()))) {
        return "dump " + d.id() + " was promised (" + p.describe() + ") and lost objects";
      }
    }
    return null;
  }

  private static List<String> keys(List<ObjectInfo> objects) {
    return objects.stream().map(ObjectInfo::key).toList();
  }

  /** Applies the plan with the real executor to a storage holding every object of the history. */
  private static Set<String> apply(History h, Plan plan) {
    try {
      MemoryStorage storage = new MemoryStorage();
      for (String key : h.allKeys()) {
        storage.create(key, new ByteArrayInputStream(new byte[0]), () -> new ObjectMetadata("", 0, "none", ""));
      }
      new RetentionExecutor(storage, History.LAYOUT, (d, o, existed) -> {}).apply(plan);
      try (Stream<ObjectInfo> s = storage.list("")) {
        return s.map(ObjectInfo::key).collect(Collectors.toCollection(HashSet::new));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Drops events (halves, then smaller runs, then single ones) while the case still fails. */
  static Case shrink(Case c) {
    Case current = c;
    for (int chunk = Math.max(1, current.events().size() / 2); chunk >= 1; chunk /= 2) {
      boolean progress = true;
      while (progress) {
        progress = false;
        for (int i = 0; i + chunk <= current.events().size(); i++) {
          List<Event> fewer = new ArrayList<>(current.events().subList(0, i));
          fewer.addAll(current.events().subList(i + chunk, current.events().size()));
          Case candidate = new Case(c.start(), fewer, c.policy(), c.laterHours(), c.historiesReadable());
          if (fails(candidate)) {
            current = candidate;
            progress = true;
            break;
          }
        }
      }
    }
    return current;
  }

  private static boolean fails(Case c) {
    try {
      return check(c) != null;
    } catch (RuntimeException e) {
      return true;
    }
  }

  static Case randomCase(Random r) {
    Instant start = Instant.parse("2025-12-20T00:00:00Z").plus(Duration.ofHours(r.nextInt(24 * 30)));
    int n = 10 + r.nextInt(140);
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int k = r.nextInt(100);
      if (k < 58) {
        events.add(new History.Wal(1 + r.nextInt(r.nextBoolean() ? 20 : 240)));
      } else if (k < 72) {
        events.add(new History.Backup(r.nextInt(4), r.nextInt(10) != 0, r.nextInt(12) == 0));
      } else if (k < 78) {
        events.add(new History.Dump(r.nextInt(8) != 0, r.nextInt(10) == 0));
      } else if (k < 82) {
        events.add(new History.Fork(r.nextBoolean() ? 0 : r.nextInt(12)));
      } else if (k < 98) {
        events.add(new History.Clock(1 + r.nextInt(72)));
      } else {
        events.add(new History.Clock(24 * (7 + r.nextInt(60))));
      }
    }
    RetentionPolicy policy = new RetentionPolicy(randomKind(r), randomKind(r),
        Duration.ofHours(1 + r.nextInt(96)), r.nextInt(3) == 0
            ? new RetentionPolicy.Tiers(Optional.empty(), Optional.of("cool"), Optional.of("cold"),
                Optional.of("archive"))
            : RetentionPolicy.Tiers.NONE);
    return new Case(start, events, policy, r.nextInt(100), r.nextInt(5) != 0);
  }

  private static KindPolicy randomKind(Random r) {
    if (r.nextInt(6) == 0) {
      return KindPolicy.NONE;
    }
    int newest = r.nextBoolean() ? 0 : 1 + r.nextInt(4);
    Optional<Duration> window = r.nextBoolean() ? Optional.empty()
        : Optional.of(Duration.ofHours(1 + r.nextInt(24 * 20)));
    Gfs gfs = r.nextInt(5) < 2 ? new Gfs(r.nextInt(8), r.nextInt(5), r.nextInt(4), r.nextInt(3)) : Gfs.NONE;
    return new KindPolicy(newest, window, gfs);
  }
}
