package io.pgsidecar.core.retention;

import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.retention.Plan.Rule;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The rules of one kind applied to its complete items (base backups or dumps): which are kept,
 * by which rule first, and whether a base backup is kept for point-in-time recovery from it on
 * ({@code forward}) or only to its own end. See {@link RetentionPlanner} for the rules.
 */
final class Selection {

  /** A complete item: its id, when it ended, whether it is marked permanent. */
  record Candidate(String id, Instant time, boolean permanent) {}

  /** Why an item is kept; {@code forward}: PITR from it on must keep working. */
  record Keep(Rule rule, String reason, boolean forward) {}

  /** One GFS class: its rule, its count in the policy, and the UTC period of a time. */
  private record GfsClass(Rule rule, String name, int count, Function<Instant, String> period) {}

  /**
   * Which timelines a restore can end on and which backups lie in their history; only base
   * backups have timelines ({@link #NONE} for dumps: one line, everything in it).
   */
  interface Ancestry {
    /** Timelines holding a moment at or after {@code since} (never empty). */
    java.util.Set<Long> liveSince(Instant since);

    /** The newest timeline. */
    long current();

    /** Whether item {@code id} is in {@code timeline}'s history: TRUE, FALSE, or null (unknown). */
    Boolean inHistory(long timeline, String id);

    Ancestry NONE = new Ancestry() {
      @Override
      public java.util.Set<Long> liveSince(Instant since) {
        return java.util.Set.of(0L);
      }

      @Override
      public long current() {
        return 0;
      }

      @Override
      public Boolean inHistory(long timeline, String id) {
        return Boolean.TRUE;
      }
    };
  }

  private Selection() {}

  /**
   * Keeps, among {@code newestFirst}, the newest one in {@code timeline}'s history, and every
   * newer one whose place in it is unknown (refusing to guess).
   */
  private static void newestInHistory(Map<String, Keep> kept, Set<String> scheduled,
      List<Candidate> newestFirst, Ancestry ancestry, long timeline, Rule rule, String found,
      String unknown) {
    for (Candidate c : newestFirst) {
      Boolean in = ancestry.inHistory(timeline, c.id());
      if (in == null) {
        keep(kept, c, new Keep(rule, unknown, true));
        scheduled.add(c.id());
      } else if (in) {
        keep(kept, c, new Keep(rule, found, true));
        scheduled.add(c.id());
        return;
      }
    }
  }

  static final Comparator<Candidate> NEWEST_FIRST = Comparator
      .comparing(Candidate::time).thenComparing(Candidate::id, BackupIds.ORDER).reversed();

  static Map<String, Keep> select(List<Candidate> candidates, KindPolicy p, Instant now, String noun,
      Ancestry ancestry) {
    Map<String, Keep> kept = new LinkedHashMap<>();
    if (!p.isSet() || candidates.isEmpty()) {
      return kept;
    }
    List<Candidate> newestFirst = candidates.stream().sorted(NEWEST_FIRST).toList();
    Set<String> scheduled = new HashSet<>(); // kept by a rule other than permanent
    for (Candidate c : newestFirst) {
      if (c.permanent()) {
        keep(kept, c, new Keep(Rule.PERMANENT, "marked permanent (keep.json)", false));
      }
    }
    Candidate newest = newestFirst.get(0);
    keep(kept, newest, new Keep(Rule.NEWEST, "the newest " + noun + " is always kept", true));
    scheduled.add(newest.id());
    if (ancestry != Ancestry.NONE) {
      long tl = ancestry.current();
      newestInHistory(kept, scheduled, newestFirst, ancestry, tl, Rule.NEWEST, "the newest " + noun
          + " in the history of timeline " + tl + ", the newest timeline",
          "might be in the history of timeline " + tl + ", the newest (its history file could not"
          + " be read)");
    }
    if (p.keepNewest() > 0) {
      List<Candidate> counted = newestFirst.stream().filter(c -> !c.permanent()).limit(p.keepNewest()).toList();
      for (Candidate c : counted) {
        keep(kept, c, new Keep(Rule.KEEP_NEWEST, "one of the newest " + p.keepNewest()
            + " (keep-newest " + p.keepNewest() + ")", true));
        scheduled.add(c.id());
      }
    }
    if (p.window().isPresent()) {
      Instant start = now.minus(p.window().get());
      String w = Durations.format(p.window().get());
      for (Candidate c : newestFirst) {
        if (c.time().isAfter(start)) {
          keep(kept, c, new Keep(Rule.WINDOW, "ended inside the window (window " + w + ", since "
              + start + ")", true));
          scheduled.add(c.id());
        }
      }
      List<Candidate> before = newestFirst.stream().filter(c -> !c.time().isAfter(start)).toList();
      for (long tl : new java.util.TreeSet<>(ancestry.liveSince(start))) {
        String on = ancestry == Ancestry.NONE ? "" : " in the history of timeline " + tl;
        newestInHistory(kept, scheduled, before, ancestry, tl, Rule.WINDOW, "the newest " + noun + on
            + " that ended before the window began (window " + w + ", since " + start + "):"
            + " restores to the window's first moments start from it",
            "ended before the window began (window " + w + ") and might be in the history of"
            + " timeline " + tl + " (its history file could not be read)");
      }
    }
    for (GfsClass g : classes(p)) {
      if (g.count() == 0) {
        continue;
      }
      Set<String> covered = new HashSet<>();
      for (Candidate c : newestFirst) {
        if (scheduled.contains(c.id())) {
          covered.add(g.period().apply(c.time()));
        }
      }
      Set<String> filled = new LinkedHashSet<>();
      for (Candidate c : newestFirst) {
        if (c.permanent() || scheduled.contains(c.id())) {
          continue;
        }
        String period = g.period().apply(c.time());
        if (covered.contains(period) || filled.contains(period)) {
          continue;
        }
        if (filled.size() >= g.count()) {
          break;
        }
        filled.add(period);
        scheduled.add(c.id());
        keep(kept, c, new Keep(g.rule(), "newest of " + g.name() + " " + period + " (gfs."
            + g.name() + " " + g.count() + ", UTC)", false));
      }
    }
    return kept;
  }

  private static void keep(Map<String, Keep> kept, Candidate c, Keep k) {
    kept.merge(c.id(), k, (a, b) -> new Keep(a.rule(), a.reason(), a.forward() || b.forward()));
  }

  private static List<GfsClass> classes(KindPolicy p) {
    List<GfsClass> out = new ArrayList<>();
    out.add(new GfsClass(Rule.GFS_DAILY, "daily", p.gfs().daily(), t -> day(t).toString()));
    out.add(new GfsClass(Rule.GFS_WEEKLY, "weekly", p.gfs().weekly(), t -> String.format(Locale.ROOT,
        "%d-W%02d", day(t).get(IsoFields.WEEK_BASED_YEAR), day(t).get(IsoFields.WEEK_OF_WEEK_BASED_YEAR))));
    out.add(new GfsClass(Rule.GFS_MONTHLY, "monthly", p.gfs().monthly(),
        t -> day(t).toString().substring(0, 7)));
    out.add(new GfsClass(Rule.GFS_YEARLY, "yearly", p.gfs().yearly(),
        t -> Integer.toString(day(t).getYear())));
    return out;
  }

  private static LocalDate day(Instant t) {
    return LocalDate.ofInstant(t, ZoneOffset.UTC);
  }
}
