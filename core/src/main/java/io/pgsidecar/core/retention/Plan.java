package io.pgsidecar.core.retention;

import io.pgsidecar.core.storage.ObjectInfo;
import java.time.Instant;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * What one retention run keeps and removes, and why: every item of the listing appears exactly
 * once, in {@link #kept} or in {@link #removed}, with the rule that decided it. Made by
 * {@link RetentionPlanner}, carried out by {@link RetentionExecutor}; {@code retention apply
 * --dry-run} prints it and stops.
 *
 * @param now the clock the plan was made with
 * @param policy the policy it applied
 * @param kept what stays, with the first rule that keeps it
 * @param removed what goes, with the rule that removes it, in deletion order (see
 *     {@link RetentionExecutor})
 * @param tiers storage tiers set after the removals (Azure; GFS classes with a tier)
 */
public record Plan(Instant now, RetentionPolicy policy, List<Decision> kept, List<Decision> removed,
    List<TierChange> tiers) {

  public Plan {
    kept = List.copyOf(kept);
    removed = removed.stream().sorted(DELETION_ORDER).toList();
    tiers = List.copyOf(tiers);
  }

  public Plan(Instant now, RetentionPolicy policy, List<Decision> kept, List<Decision> removed) {
    this(now, policy, kept, removed, List.of());
  }

  /**
   * A kept base backup's data object moves to {@code tier} because GFS class {@code rule} keeps it
   * ({@code retention.base-backups.tier.*}).
   */
  public record TierChange(String id, Rule rule, String tier, ObjectInfo object) {}

  /** What kind of item a decision is about. */
  public enum Subject {
    /** A complete base backup: {@code base/<id>/}. */
    BASE_BACKUP,
    /** A base backup folder without {@code backup.json}. */
    UNFINISHED_BACKUP,
    /** A complete dump: {@code dumps/<id>/}. */
    DUMP,
    /** A dump folder without {@code dump.json} (interrupted or failed). */
    UNFINISHED_DUMP,
    /** A WAL segment, or a {@code .partial} or {@code .backup} file of one. */
    WAL,
    /** A timeline history file. */
    HISTORY,
    /** A storage driver's leftover of an interrupted upload (a staging object, a temp file). */
    DEBRIS,
    /** An object under {@code wal/} whose name is no WAL file name: never removed. */
    OTHER;

    public String label() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /** The rules a decision names, as {@code retention apply} prints them. */
  public enum Rule {
    NO_POLICY, PERMANENT, NEWEST, KEEP_NEWEST, WINDOW, GFS_DAILY, GFS_WEEKLY, GFS_MONTHLY,
    GFS_YEARLY, EXPIRED, UNFINISHED, ORPHAN, NOT_OURS,
    WAL_NO_BACKUP, WAL_WINDOW, WAL_PITR, WAL_CONSISTENCY, WAL_UNNEEDED,
    TIMELINE_NEEDED, NEWEST_TIMELINE, TIMELINE_UNREACHABLE;

    public String label() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * One item and what happens to it.
   *
   * @param subject what the item is
   * @param id backup or dump id, WAL file name, or key for anything else
   * @param rule the rule that decided
   * @param reason the decision in words, naming the policy value and the facts it looked at
   * @param objects the item's objects; for a backup or dump its manifest first, so that deleting
   *     them in this order makes it stop existing before any of its data goes
   */
  public record Decision(Subject subject, String id, Rule rule, String reason, List<ObjectInfo> objects) {
    public Decision {
      Objects.requireNonNull(subject, "subject");
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(rule, "rule");
      objects = List.copyOf(objects);
    }

    public long bytes() {
      return objects.stream().mapToLong(ObjectInfo::storedSize).sum();
    }
  }

  /**
   * Backups first (oldest first), then dumps, then WAL in position order, then history files:
   * a run stopped anywhere never leaves a backup the listing still shows without its WAL. See
   * {@link RetentionExecutor}.
   */
  static final Comparator<Decision> DELETION_ORDER = Comparator
      .comparingInt((Decision d) -> switch (d.subject()) {
        case BASE_BACKUP, UNFINISHED_BACKUP -> 0;
        case DUMP, UNFINISHED_DUMP, DEBRIS -> 1;
        case WAL, OTHER -> 2;
        case HISTORY -> 3;
      })
      .thenComparing(d -> d.subject() == Subject.WAL ? walOrder(d.id()) : d.id());

  /** Timeline first, then position, then the file name: 24 hex digits sort as numbers do. */
  private static String walOrder(String name) {
    return name;
  }

  public long removedObjects() {
    return removed.stream().mapToLong(d -> d.objects().size()).sum();
  }

  public long removedBytes() {
    return removed.stream().mapToLong(Decision::bytes).sum();
  }

  /** Items kept per subject and rule, for metrics and summaries. */
  public Map<Subject, Map<Rule, Integer>> keptCounts() {
    Map<Subject, Map<Rule, Integer>> out = new EnumMap<>(Subject.class);
    for (Decision d : kept) {
      out.computeIfAbsent(d.subject(), s -> new EnumMap<>(Rule.class)).merge(d.rule(), 1, Integer::sum);
    }
    return out;
  }

  /** Items removed per subject. */
  public Map<Subject, Integer> removedCounts() {
    Map<Subject, Integer> out = new EnumMap<>(Subject.class);
    removed.forEach(d -> out.merge(d.subject(), 1, Integer::sum));
    return out;
  }
}
