package io.pgsidecar.core.retention;

import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.retention.Plan.Decision;
import io.pgsidecar.core.retention.Plan.Rule;
import io.pgsidecar.core.retention.Plan.Subject;
import io.pgsidecar.core.retention.RepositoryListing.BackupEntry;
import io.pgsidecar.core.retention.RepositoryListing.DumpEntry;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import io.pgsidecar.core.storage.ObjectInfo;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Decides what retention keeps and removes: a pure function of (listing, now, policy) to a
 * {@link Plan}. It reads no storage and no clock, so the same inputs give the same plan, a dry
 * run shows exactly what a real run does, and a property test can check it on thousands of
 * histories.
 *
 * <h2>Base backups and dumps</h2>
 * The rules of a kind ({@link KindPolicy}) are applied together: an item is kept when any rule
 * keeps it, and the plan names the first one (in the order below). With no rule set for a kind,
 * everything of that kind is kept.
 * <ol>
 *   <li>{@code permanent}: it has a keep mark ({@link PermanentMarks}).</li>
 *   <li>{@code newest}: the newest complete one is always kept while a policy is set.</li>
 *   <li>{@code keep-newest}: the N newest complete ones that are not permanent.</li>
 *   <li>{@code window}: every one that ended inside the window, and the newest one that ended
 *       before it began (a restore to the window's first moment starts from it).</li>
 *   <li>{@code gfs-daily} .. {@code gfs-yearly}: see {@link RetentionPolicy.Gfs}. Permanent items
 *       neither fill nor cover a slot: they are outside the schedule.</li>
 * </ol>
 * Unfinished ones (no {@code backup.json} / {@code dump.json}) are removed as orphans once their
 * id's start time is older than {@code retention.orphan-age}, or at once when their id is older
 * than the newest complete one's: one backup (dump) runs at a time, so such a folder is no
 * longer running (a failed run, or a backup an interrupted retention run removed partly, its
 * manifest first). A folder whose name is no pgsidecar id is left alone.
 *
 * <h2>WAL (per timeline)</h2>
 * Base backups kept by {@code newest}, {@code keep-newest} or {@code window} are kept <i>for
 * point-in-time recovery</i>: every segment from their start segment on is kept, on their
 * timeline and every later one. Backups kept only as {@code permanent} or by a GFS class are kept
 * <i>to their own end</i>: the segments from their start through their stop segment on their
 * timeline (keeping every segment after a monthly copy would keep months of WAL). Every segment
 * stored inside the base-backup window is kept whatever it belongs to. The rest goes.
 *
 * <p>Timeline reachability is decided from the numbers alone: a timeline numbered at or above a
 * backup's is treated as reachable from it. History files are not read (they may be encrypted
 * with a key the agent does not hold), so a sibling timeline's WAL may be kept longer than
 * needed, never shorter. A {@code .history} file is kept while its timeline is at or above the
 * lowest timeline of anything kept, and the newest one always (PostgreSQL numbers a new timeline
 * after the highest history file it finds in the archive). Without a complete base backup no WAL
 * is removed: it is then the only copy of the data.
 */
public final class RetentionPlanner {

  private static final DateTimeFormatter ID_TIME =
      DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss'Z'");

  private RetentionPlanner() {}

  public static Plan plan(RepositoryListing listing, Instant now, RetentionPolicy policy) {
    List<Decision> kept = new ArrayList<>();
    List<Decision> removed = new ArrayList<>();
    Map<String, Selection.Keep> backupKeeps = planBackups(listing, now, policy, kept, removed);
    planDumps(listing, now, policy, kept, removed);
    planDebris(listing, now, policy, kept, removed);
    WalExpiry.plan(listing, now, policy.baseBackups(), backupKeeps, kept, removed);
    return new Plan(now, policy, kept, removed, tiers(kept, policy.baseBackupTiers()));
  }

  private static Map<String, Selection.Keep> planBackups(RepositoryListing listing, Instant now,
      RetentionPolicy policy, List<Decision> kept, List<Decision> removed) {
    KindPolicy p = policy.baseBackups();
    List<Selection.Candidate> candidates = listing.backups().stream().filter(BackupEntry::complete)
        .map(b -> new Selection.Candidate(b.id(), b.point().orElseThrow().stopTime(), b.permanent()))
        .toList();
    Map<String, Selection.Keep> keeps = Selection.select(candidates, p, now, "base backup",
        new BackupAncestry(listing));
    Optional<String> newest = candidates.stream().map(Selection.Candidate::id).max(BackupIds.ORDER);
    for (BackupEntry b : listing.backups()) {
      List<ObjectInfo> objects = manifestFirst(b.objects(), "/backup.json");
      if (!b.complete()) {
        unfinished(Subject.UNFINISHED_BACKUP, b.id(), b.permanent(), objects, p, now, policy.orphanAge(),
            "backup.json", newest, "base backup", kept, removed);
      } else if (!p.isSet()) {
        kept.add(new Decision(Subject.BASE_BACKUP, b.id(), Rule.NO_POLICY,
            "no retention.base-backups.* rule is set", objects));
      } else {
        Selection.Keep k = keeps.get(b.id());
        (k != null ? kept : removed).add(k != null
            ? new Decision(Subject.BASE_BACKUP, b.id(), k.rule(), k.reason(), objects)
            : new Decision(Subject.BASE_BACKUP, b.id(), Rule.EXPIRED,
                "kept by no rule (" + p.describe() + "); ended " + b.point().orElseThrow().stopTime(),
                objects));
      }
    }
    return keeps;
  }

  private static void planDumps(RepositoryListing listing, Instant now, RetentionPolicy policy,
      List<Decision> kept, List<Decision> removed) {
    KindPolicy p = policy.dumps();
    List<Selection.Candidate> candidates = listing.dumps().stream().filter(DumpEntry::complete)
        .map(d -> new Selection.Candidate(d.id(), d.stopTime().orElseThrow(), d.permanent()))
        .toList();
    Map<String, Selection.Keep> keeps = Selection.select(candidates, p, now, "dump",
        Selection.Ancestry.NONE);
    Optional<String> newest = candidates.stream().map(Selection.Candidate::id).max(BackupIds.ORDER);
    for (DumpEntry d : listing.dumps()) {
      List<ObjectInfo> objects = manifestFirst(d.objects(), "/dump.json");
      if (!d.complete()) {
        unfinished(Subject.UNFINISHED_DUMP, d.id(), d.permanent(), objects, p, now, policy.orphanAge(),
            "dump.json", newest, "dump", kept, removed);
      } else if (!p.isSet()) {
        kept.add(new Decision(Subject.DUMP, d.id(), Rule.NO_POLICY,
            "no retention.dumps.* rule is set", objects));
      } else {
        Selection.Keep k = keeps.get(d.id());
        (k != null ? kept : removed).add(k != null
            ? new Decision(Subject.DUMP, d.id(), k.rule(), k.reason(), objects)
            : new Decision(Subject.DUMP, d.id(), Rule.EXPIRED,
                "kept by no rule (" + p.describe() + "); ended " + d.stopTime().orElseThrow(), objects));
      }
    }
  }

  /** The data objects of base backups a GFS class with a tier keeps (manifests and marks stay). */
  private static List<Plan.TierChange> tiers(List<Decision> kept, RetentionPolicy.Tiers tiers) {
    List<Plan.TierChange> out = new ArrayList<>();
    if (!tiers.isSet()) {
      return out;
    }
    for (Decision d : kept) {
      if (d.subject() != Subject.BASE_BACKUP) {
        continue;
      }
      Optional<String> tier = switch (d.rule()) {
        case GFS_DAILY -> tiers.daily();
        case GFS_WEEKLY -> tiers.weekly();
        case GFS_MONTHLY -> tiers.monthly();
        case GFS_YEARLY -> tiers.yearly();
        default -> Optional.empty();
      };
      if (tier.isPresent()) {
        for (ObjectInfo o : d.objects()) {
          if (!o.key().endsWith("/backup.json") && !o.key().endsWith("/" + io.pgsidecar.core.repo.RepositoryLayout.KEEP_MARK)) {
            out.add(new Plan.TierChange(d.id(), d.rule(), tier.get(), o));
          }
        }
      }
    }
    return out;
  }

  /** Leftovers of interrupted uploads go once older than the orphan age, while any rule is set. */
  private static void planDebris(RepositoryListing listing, Instant now, RetentionPolicy policy,
      List<Decision> kept, List<Decision> removed) {
    for (ObjectInfo o : listing.debris()) {
      if (!policy.isSet()) {
        kept.add(new Decision(Subject.DEBRIS, o.key(), Rule.NO_POLICY, "no retention.* rule is set",
            List.of(o)));
      } else if (o.lastModified().plus(policy.orphanAge()).isBefore(now)) {
        removed.add(new Decision(Subject.DEBRIS, o.key(), Rule.ORPHAN, "left by an interrupted"
            + " upload, last written " + o.lastModified() + ", more than retention.orphan-age "
            + Durations.format(policy.orphanAge()) + " ago", List.of(o)));
      } else {
        kept.add(new Decision(Subject.DEBRIS, o.key(), Rule.UNFINISHED, "may belong to an upload"
            + " under way (retention.orphan-age " + Durations.format(policy.orphanAge()) + ")",
            List.of(o)));
      }
    }
  }

  private static void unfinished(Subject subject, String id, boolean permanent,
      List<ObjectInfo> objects, KindPolicy p, Instant now, Duration orphanAge, String manifest,
      Optional<String> newestComplete, String noun, List<Decision> kept, List<Decision> removed) {
    Optional<Instant> started = idTime(id);
    if (permanent) {
      kept.add(new Decision(subject, id, Rule.PERMANENT, "marked permanent (keep.json)", objects));
    } else if (started.isEmpty()) {
      kept.add(new Decision(subject, id, Rule.NOT_OURS,
          "the folder's name is no pgsidecar id; retention leaves it alone", objects));
    } else if (!p.isSet()) {
      kept.add(new Decision(subject, id, Rule.NO_POLICY, "no rule is set for this kind", objects));
    } else if (started.get().plus(orphanAge).isBefore(now)) {
      removed.add(new Decision(subject, id, Rule.ORPHAN, "unfinished (no " + manifest + "), started "
          + started.get() + ", more than retention.orphan-age " + Durations.format(orphanAge)
          + " ago", objects));
    } else if (newestComplete.isPresent() && BackupIds.ORDER.compare(id, newestComplete.get()) < 0) {
      removed.add(new Decision(subject, id, Rule.ORPHAN, "unfinished (no " + manifest + ") and older"
          + " than the newest complete " + noun + " " + newestComplete.get() + ", so no longer running"
          + " (one " + noun + " runs at a time): an interrupted one, or one a run removed partly",
          objects));
    } else {
      kept.add(new Decision(subject, id, Rule.UNFINISHED, "unfinished (no " + manifest + "), started "
          + started.get() + ": may still be running (retention.orphan-age "
          + Durations.format(orphanAge) + ")", objects));
    }
  }

  /** When a backup or dump with this id started, from the id itself. */
  static Optional<Instant> idTime(String id) {
    if (!BackupIds.isValid(id)) {
      return Optional.empty();
    }
    try {
      return Optional.of(LocalDateTime.parse(id.substring(0, 16), ID_TIME).toInstant(ZoneOffset.UTC));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  /**
   * The manifest first: deleting in this order makes the item stop existing (no reader picks it)
   * before any of its data goes; an interrupted delete leaves an unfinished folder that the next
   * run removes as an orphan.
   */
  private static List<ObjectInfo> manifestFirst(List<ObjectInfo> objects, String manifestSuffix) {
    return objects.stream().sorted(Comparator
        .comparing((ObjectInfo o) -> !o.key().endsWith(manifestSuffix))
        .thenComparing(ObjectInfo::key)).toList();
  }
}
