package io.pgsidecar.core.retention;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.retention.Plan.Decision;
import io.pgsidecar.core.retention.Plan.Subject;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Map;

/**
 * Carries out a {@link Plan}: deletes its objects one by one, logs each, counts them, and stops at
 * the first failure.
 *
 * <h2>Order</h2>
 * <ol>
 *   <li>Base backups, oldest first; each one's {@code backup.json} before its data, so it stops
 *       existing (no restore picks it) before anything it holds goes.</li>
 *   <li>Dumps, likewise {@code dump.json} first; the storage driver's leftovers of interrupted
 *       uploads ({@link Storage#deleteDebris}).</li>
 *   <li>WAL segments (and their {@code .partial} / {@code .backup} files) by timeline and
 *       position.</li>
 *   <li>History files last.</li>
 * </ol>
 * Why this order: the plan removes no segment that a backup it keeps needs, so whatever subset of
 * the removals has happened, every kept backup still has its WAL. What an interrupted run could
 * break is a backup the plan meant to remove but had not removed yet: had its WAL gone first, the
 * next run would find a backup without its WAL and could count it in a slot (keep-newest, GFS)
 * in place of one that is restorable. Removing backups before WAL means a stopped run leaves, at
 * worst, WAL that nothing needs (the next run removes it) and a folder without its manifest (an
 * unfinished backup, removed as an orphan once older than {@code retention.orphan-age}).
 *
 * <p>Then, when GFS classes have a storage tier, each kept backup's data object is set to its
 * class's tier (Azure; setting the tier an object has already is a no-op there).
 *
 * <h2>Failure and repetition</h2>
 * A failure stops the run at once with a {@link JobException} ({@code STORAGE_UNAVAILABLE})
 * naming the object and how much was removed; everything not yet deleted stays in place, and the
 * next run plans again from what is there. Deleting an object that is already gone counts as done.
 * Before removing a backup or dump the executor looks for its keep mark once more: one marked
 * permanent after the plan was made is left alone.
 */
public final class RetentionExecutor {

  private static final Logger LOG = System.getLogger(RetentionExecutor.class.getName());

  /** Told of every object as it goes (for metrics and progress). */
  @FunctionalInterface
  public interface Listener {
    void removed(Decision item, ObjectInfo object, boolean existed);
  }

  /**
   * What a run did.
   *
   * @param objects objects deleted (already gone ones included)
   * @param bytes their stored bytes
   * @param alreadyGone objects that another run or a person had deleted already
   * @param items whole items removed, by subject
   * @param skipped items left in place because they were marked permanent after planning
   * @param tiered objects moved to another storage tier (0 on a driver without tiers)
   */
  public record Outcome(long objects, long bytes, long alreadyGone, Map<Subject, Integer> items,
      int skipped, int tiered) {}

  private final Storage storage;
  private final RepositoryLayout layout;
  private final Listener listener;

  public RetentionExecutor(Storage storage, RepositoryLayout layout, Listener listener) {
    this.storage = storage;
    this.layout = layout;
    this.listener = listener;
  }

  public Outcome apply(Plan plan) {
    long objects = 0;
    long bytes = 0;
    long gone = 0;
    int skipped = 0;
    Map<Subject, Integer> items = new java.util.EnumMap<>(Subject.class);
    for (Decision d : plan.removed()) {
      String current = d.id();
      try {
        if (markedMeanwhile(d)) {
          LOG.log(Level.WARNING, "retention: {0} {1} was marked permanent after the plan was made;"
              + " left in place", d.subject().label(), d.id());
          skipped++;
          continue;
        }
        for (ObjectInfo o : d.objects()) {
          current = o.key();
          boolean existed = d.subject() == Subject.DEBRIS ? storage.deleteDebris(o.key())
              : storage.delete(o.key());
          objects++;
          bytes += o.storedSize();
          gone += existed ? 0 : 1;
          LOG.log(Level.INFO, "retention: removed {0} ({1} {2}: {3}: {4}){5}", o.key(),
              d.subject().label(), d.id(), d.rule().label(), d.reason(),
              existed ? "" : " (already gone)");
          listener.removed(d, o, existed);
        }
        items.merge(d.subject(), 1, Integer::sum);
      } catch (IOException | RuntimeException e) {
        throw new JobException(JobException.Kind.STORAGE_UNAVAILABLE, "retention stopped at "
            + current + " in " + storage.describe() + ": " + e.getMessage() + "; " + objects
            + " objects (" + bytes + " bytes) were removed before it, everything else is in place;"
            + " check the storage and run pgsidecar retention apply again, it continues from there",
            Map.of("object", current, "removedObjects", objects, "removedBytes", bytes), e);
      }
    }
    int tiered = 0;
    for (Plan.TierChange t : plan.tiers()) {
      try {
        if (storage.setTier(t.object().key(), t.tier())) {
          tiered++;
          LOG.log(Level.INFO, "retention: {0} set to tier {1} (base backup {2}, {3})",
              t.object().key(), t.tier(), t.id(), t.rule().label());
        }
      } catch (IOException | RuntimeException e) {
        throw new JobException(JobException.Kind.STORAGE_UNAVAILABLE, "retention could not set the"
            + " tier of " + t.object().key() + " to " + t.tier() + " in " + storage.describe() + ": "
            + e.getMessage() + "; every removal was done; check the storage and run pgsidecar"
            + " retention apply again", Map.of("object", t.object().key()), e);
      }
    }
    return new Outcome(objects, bytes, gone, items, skipped, tiered);
  }

  private boolean markedMeanwhile(Decision d) throws IOException {
    return switch (d.subject()) {
      case BASE_BACKUP, UNFINISHED_BACKUP -> storage.stat(layout.baseKeepMark(d.id())).isPresent();
      case DUMP, UNFINISHED_DUMP -> storage.stat(layout.dumpKeepMark(d.id())).isPresent();
      default -> false;
    };
  }
}
