package io.pgsidecar.core.retention;

import io.pgsidecar.core.job.JobException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What retention keeps: one {@link KindPolicy} for base backups (and, through them, WAL), one for
 * dumps, and the age after which an unfinished backup or dump is debris.
 *
 * <p><b>Nothing is deleted unless a policy is set.</b> A kind whose policy sets no rule keeps all
 * of its objects, orphans included; base backups without a policy also keep all WAL. This is what
 * an operator upgrading from a version without retention expects: turning retention on is a
 * decision, never a default.
 *
 * @param baseBackups the rules of base backups (keys {@code retention.base-backups.*})
 * @param dumps the rules of logical dumps (keys {@code retention.dumps.*})
 * @param orphanAge an unfinished backup or dump (no {@code backup.json} / {@code dump.json}) whose
 *     id says it started longer ago than this is removed; it must exceed the longest run a backup
 *     can take (key {@code retention.orphan-age})
 * @param baseBackupTiers the storage tier of the data of a base backup kept by a GFS class (keys
 *     {@code retention.base-backups.tier.*}); Azure only
 */
public record RetentionPolicy(KindPolicy baseBackups, KindPolicy dumps, Duration orphanAge,
    Tiers baseBackupTiers) {

  /** Three days: far longer than any base backup this agent is sized for, including its WAL wait. */
  public static final Duration DEFAULT_ORPHAN_AGE = Duration.ofDays(3);

  /** Without storage tiers. */
  public RetentionPolicy(KindPolicy baseBackups, KindPolicy dumps, Duration orphanAge) {
    this(baseBackups, dumps, orphanAge, Tiers.NONE);
  }

  public RetentionPolicy {
    Objects.requireNonNull(baseBackupTiers, "baseBackupTiers");
    Objects.requireNonNull(baseBackups, "baseBackups");
    Objects.requireNonNull(dumps, "dumps");
    Objects.requireNonNull(orphanAge, "orphanAge");
    if (orphanAge.isNegative() || orphanAge.isZero()) {
      throw JobException.invalidInput("retention.orphan-age must be positive, got " + orphanAge
          + "; an unfinished backup younger than its longest run may still be running");
    }
  }

  /** No rule at all: retention removes nothing. */
  public static RetentionPolicy none() {
    return new RetentionPolicy(KindPolicy.NONE, KindPolicy.NONE, DEFAULT_ORPHAN_AGE);
  }

  /** Whether any rule is set for any kind (the agent schedules retention only then). */
  public boolean isSet() {
    return baseBackups.isSet() || dumps.isSet();
  }

  /**
   * The rules of one kind; a backup is kept when any of them keeps it.
   *
   * @param keepNewest keep the newest N complete ones (0: rule not set); permanent ones are not
   *     counted
   * @param window keep everything a restore to any moment of the last {@code window} needs: every
   *     backup that ended inside it, and the newest one that ended before it (PITR starts there)
   * @param gfs grandfather-father-son counts
   */
  public record KindPolicy(int keepNewest, Optional<Duration> window, Gfs gfs) {

    public static final KindPolicy NONE = new KindPolicy(0, Optional.empty(), Gfs.NONE);

    public KindPolicy {
      Objects.requireNonNull(window, "window");
      Objects.requireNonNull(gfs, "gfs");
      if (keepNewest < 0) {
        throw JobException.invalidInput("keep-newest must be 0 (not set) or more, got " + keepNewest);
      }
      if (window.isPresent() && (window.get().isNegative() || window.get().isZero())) {
        throw JobException.invalidInput("window must be a positive duration, got " + window.get());
      }
    }

    public boolean isSet() {
      return keepNewest > 0 || window.isPresent() || gfs.isSet();
    }

    /** The rules in the words of the configuration keys, e.g. {@code keep-newest 2, window 14d}. */
    public String describe() {
      List<String> parts = new ArrayList<>();
      if (keepNewest > 0) {
        parts.add("keep-newest " + keepNewest);
      }
      window.ifPresent(w -> parts.add("window " + Durations.format(w)));
      if (gfs.isSet()) {
        parts.add(gfs.describe());
      }
      return parts.isEmpty() ? "no policy" : String.join(", ", parts);
    }
  }

  /**
   * Grandfather-father-son counts: how many days, ISO weeks, months and years keep one backup
   * each. Periods are computed in UTC from the time a backup ended (its consistency point); weeks
   * are ISO-8601 weeks (Monday to Sunday, week-based year). A backup fills at most one slot: the
   * classes are filled in the order daily, weekly, monthly, yearly, each taking the newest backup
   * of a period that no backup kept so far (by any rule) already covers.
   */
  public record Gfs(int daily, int weekly, int monthly, int yearly) {

    public static final Gfs NONE = new Gfs(0, 0, 0, 0);

    public Gfs {
      if (daily < 0 || weekly < 0 || monthly < 0 || yearly < 0) {
        throw JobException.invalidInput("gfs counts must be 0 or more, got daily " + daily
            + ", weekly " + weekly + ", monthly " + monthly + ", yearly " + yearly);
      }
    }

    public boolean isSet() {
      return daily + weekly + monthly + yearly > 0;
    }

    public String describe() {
      return "gfs daily " + daily + " weekly " + weekly + " monthly " + monthly + " yearly " + yearly;
    }
  }

  /**
   * The storage tier a base backup's data moves to when a GFS class keeps it ({@code hot},
   * {@code cool}, {@code cold}, {@code archive}; Azure access tiers; other drivers keep their
   * objects where they are). Set each run for every backup a class keeps, so a backup that moves
   * from the daily to the weekly class follows. An archived backup must be rehydrated before a
   * restore can read it; the error of such a read says how.
   */
  public record Tiers(Optional<String> daily, Optional<String> weekly, Optional<String> monthly,
      Optional<String> yearly) {

    public static final Tiers NONE = new Tiers(Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty());

    public boolean isSet() {
      return daily.isPresent() || weekly.isPresent() || monthly.isPresent() || yearly.isPresent();
    }
  }
}
