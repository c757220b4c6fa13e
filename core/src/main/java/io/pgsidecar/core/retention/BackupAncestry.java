package io.pgsidecar.core.retention;

import io.pgsidecar.core.wal.TimelineHistory;
import io.pgsidecar.core.retention.RepositoryListing.BackupEntry;
import io.pgsidecar.core.retention.RepositoryListing.BackupPoint;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.wal.Lsn;
import io.pgsidecar.core.wal.WalFileName;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Timelines of a listing: which ones hold moments of the window (those with segments stored in
 * it), the newest one, and whether a base backup lies in a timeline's history. A backup is in the
 * history of its own timeline, and of a later one when that timeline's history file lists the
 * backup's timeline and left it at or after the backup's stop LSN. When the history file could
 * not be read the answer is "unknown", and the caller keeps what it might need.
 */
final class BackupAncestry implements Selection.Ancestry {

  private final Map<String, BackupPoint> points = new HashMap<>();
  private final Map<Long, TimelineHistory> histories;
  private final Map<Long, Instant> lastStored = new HashMap<>();
  private long current;

  BackupAncestry(RepositoryListing listing) {
    this.histories = listing.histories();
    for (BackupEntry b : listing.backups()) {
      b.point().ifPresent(p -> {
        points.put(b.id(), p);
        current = Math.max(current, p.timeline());
      });
    }
    for (ObjectInfo o : listing.wal()) {
      String file = o.key().substring(o.key().lastIndexOf('/') + 1);
      if (file.length() >= 24 && WalFileName.isValid(file.substring(0, 24))) {
        long tl = WalFileName.parse(file.substring(0, 24)).timeline();
        lastStored.merge(tl, o.lastModified(), (a, b) -> a.isAfter(b) ? a : b);
        current = Math.max(current, tl);
      }
    }
  }

  @Override
  public Set<Long> liveSince(Instant since) {
    Set<Long> out = new TreeSet<>();
    lastStored.forEach((tl, last) -> {
      if (!last.isBefore(since)) {
        out.add(tl);
      }
    });
    if (out.isEmpty()) {
      out.add(current);
    }
    return out;
  }

  @Override
  public long current() {
    return current;
  }

  @Override
  public Boolean inHistory(long timeline, String id) {
    BackupPoint p = points.get(id);
    if (p == null || p.timeline() > timeline) {
      return Boolean.FALSE;
    }
    if (p.timeline() == timeline) {
      return Boolean.TRUE;
    }
    TimelineHistory h = histories.get(timeline);
    if (h == null) {
      return null;
    }
    Optional<Lsn> left = h.leftAt(p.timeline());
    return left.isPresent() && p.stop().compareTo(left.get()) <= 0;
  }
}
