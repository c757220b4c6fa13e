package io.pgsidecar.agent.verify;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.verify.WalReport;
import io.pgsidecar.core.verify.WalVerifier;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The scheduled restore drill ({@code schedule.verify}): what an operator would do by hand to
 * know the archive can bring the cluster back.
 * <ol>
 *   <li>{@code wal verify}: the archive's gaps, per timeline (a gap is reported and counted, it
 *       does not fail the drill: it has its own alert);</li>
 *   <li>the newest complete backup verified with {@code --restore}: checksums, pg_verifybackup,
 *       restored through the restore engine, started on a private socket to consistency with its
 *       WAL, the probe query answered;</li>
 *   <li>the recoverable window measured: from the oldest backup's start to the newest archived
 *       segment's arrival.</li>
 * </ol>
 */
public final class RestoreDrill {

  /**
   * One drill's outcome.
   *
   * @param windowStart the oldest backup's start time
   * @param windowEnd when the newest archived segment was stored
   */
  public record Result(String backupId, BackupVerification verification, WalReport wal,
      Instant windowStart, Instant windowEnd, Duration took) {

    public long windowSeconds() {
      return Math.max(0, Duration.between(windowStart, windowEnd).toSeconds());
    }
  }

  private final Storage storage;
  private final RepositoryLayout layout;
  private final WalVerifier wal;
  private final BackupVerifier backups;
  private final Clock clock;

  public RestoreDrill(Storage storage, RepositoryLayout layout, WalVerifier wal,
      BackupVerifier backups, Clock clock) {
    this.storage = storage;
    this.layout = layout;
    this.wal = wal;
    this.backups = backups;
    this.clock = clock;
  }

  /**
   * Runs one drill.
   *
   * @param onWal told the WAL report as soon as it is known (the gap gauge), even if the restore
   *     fails afterwards
   */
  public Result run(java.util.function.Consumer<WalReport> onWal) {
    Instant started = clock.instant();
    WalReport report = wal.verify();
    onWal.accept(report);
    List<BackupManifest> all;
    try {
      all = new ArchiveCatalog(storage, layout).backups();
    } catch (IOException e) {
      throw new JobException(JobException.Kind.STORAGE_UNAVAILABLE, "cannot list the backups of "
          + layout.baseRoot() + ": " + e.getMessage() + "; check the storage", e);
    }
    if (all.isEmpty()) {
      throw new JobException(JobException.Kind.NOT_FOUND, "no complete base backup in "
          + new ArchiveCatalog(storage, layout).describe() + " to drill with: take one (pgsidecar"
          + " backup create, or schedule.base-backup)", java.util.Map.of(), null);
    }
    BackupManifest newest = all.get(all.size() - 1);
    BackupVerification v = backups.verify(newest.id(), true);
    Instant end = report.newestArchivedAt().orElse(newest.stopTime());
    return new Result(newest.id(), v, report, all.get(0).startTime(), end,
        Duration.between(started, clock.instant()));
  }

  /** The newest backup's id, for messages; empty when there is none. */
  Optional<String> newest() throws IOException {
    List<BackupManifest> all = new ArchiveCatalog(storage, layout).backups();
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1).id());
  }
}
