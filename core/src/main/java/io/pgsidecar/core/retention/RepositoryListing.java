package io.pgsidecar.core.retention;

import io.pgsidecar.core.wal.TimelineHistory;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.wal.Lsn;
import io.pgsidecar.core.wal.Segments;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What one cluster's repository held when retention looked: every base backup folder, every
 * dump folder and every object under {@code wal/}, with the few facts of each manifest that
 * retention needs. {@link ListingReader} builds it from storage; tests build it directly. The
 * planner reads nothing else, which is what makes a plan a pure function of (listing, now,
 * policy).
 *
 * @param backups every {@code base/<id>/} folder, complete or not
 * @param dumps every {@code dumps/<id>/} folder, complete or not
 * @param wal every object under {@code wal/}: segments, {@code .partial}, {@code .backup} and
 *     {@code .history} files, and anything else (kept, never guessed at)
 * @param histories the contents of the history files that could be read, by timeline; a timeline
 *     missing here has an unknown ancestry, and retention then keeps every backup of a lower
 *     timeline that might be one of its ancestors
 * @param debris the storage driver's own leftovers of interrupted uploads
 *     ({@link io.pgsidecar.core.storage.Storage#listDebris})
 * @param walSegmentSize the archive's WAL segment size in bytes
 *     ({@link io.pgsidecar.core.repo.SegmentSize}; 16 MiB unless told otherwise)
 */
public record RepositoryListing(List<BackupEntry> backups, List<DumpEntry> dumps, List<ObjectInfo> wal,
    Map<Long, TimelineHistory> histories, List<ObjectInfo> debris, long walSegmentSize) {

  public RepositoryListing {
    backups = List.copyOf(backups);
    dumps = List.copyOf(dumps);
    wal = List.copyOf(wal);
    histories = Map.copyOf(histories);
    debris = List.copyOf(debris);
    new Segments(walSegmentSize); // a power of two from 1 MiB to 1 GiB
  }

  /** With 16 MiB segments. */
  public RepositoryListing(List<BackupEntry> backups, List<DumpEntry> dumps, List<ObjectInfo> wal,
      Map<Long, TimelineHistory> histories, List<ObjectInfo> debris) {
    this(backups, dumps, wal, histories, debris, Segments.DEFAULT_SIZE);
  }

  /** Without debris. */
  public RepositoryListing(List<BackupEntry> backups, List<DumpEntry> dumps, List<ObjectInfo> wal,
      Map<Long, TimelineHistory> histories) {
    this(backups, dumps, wal, histories, List.of());
  }

  /** Without history contents: every timeline's ancestry is unknown (decided conservatively). */
  public RepositoryListing(List<BackupEntry> backups, List<DumpEntry> dumps, List<ObjectInfo> wal) {
    this(backups, dumps, wal, Map.of(), List.of());
  }

  /**
   * One {@code base/<id>/} folder.
   *
   * @param id the folder's name (a backup id when pgsidecar wrote it)
   * @param point the facts of its {@code backup.json}; empty when there is none (unfinished)
   * @param permanent whether its keep mark ({@code keep.json}) exists
   * @param objects every object of the folder, keep mark included
   */
  public record BackupEntry(String id, Optional<BackupPoint> point, boolean permanent,
      List<ObjectInfo> objects) {
    public BackupEntry {
      Objects.requireNonNull(id, "id");
      objects = List.copyOf(objects);
    }

    public boolean complete() {
      return point.isPresent();
    }
  }

  /**
   * What retention needs of a complete base backup's {@code backup.json}.
   *
   * @param timeline the backup's timeline
   * @param start where replay starts (its start segment is the first one a restore needs)
   * @param stop where the restored data becomes consistent
   * @param stopTime when it ended: the earliest moment a restore from it can reach
   */
  public record BackupPoint(long timeline, Lsn start, Lsn stop, Instant stopTime) {
    public static BackupPoint of(BackupManifest m) {
      return new BackupPoint(m.timeline(), Lsn.parse(m.startLsn()), Lsn.parse(m.stopLsn()),
          m.stopTime());
    }
  }

  /**
   * One {@code dumps/<id>/} folder.
   *
   * @param id the folder's name
   * @param stopTime when the dump ended, from its {@code dump.json}; empty when there is none
   * @param permanent whether its keep mark exists
   * @param objects every object of the folder
   */
  public record DumpEntry(String id, Optional<Instant> stopTime, boolean permanent,
      List<ObjectInfo> objects) {
    public DumpEntry {
      Objects.requireNonNull(id, "id");
      objects = List.copyOf(objects);
    }

    public boolean complete() {
      return stopTime.isPresent();
    }
  }
}
