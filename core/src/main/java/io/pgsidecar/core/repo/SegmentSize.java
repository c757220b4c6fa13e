package io.pgsidecar.core.repo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.wal.Lsn;
import io.pgsidecar.core.wal.Segments;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * The WAL segment size an archive was written with, and where that was read: a
 * {@code walSegmentSize} field of {@code cluster.json} when it has one; else the one size under
 * which every {@code backup.json}'s start and stop LSNs fall into the segments it names (the
 * LSN-to-name mapping differs for every power of two once the segment number is above zero);
 * else PostgreSQL's default of 16 MiB.
 *
 * @param segments the size as segment arithmetic
 * @param source where it came from, for reports: {@code cluster.json}, {@code backup.json of <id>},
 *     {@code default}
 */
public record SegmentSize(Segments segments, String source) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public static SegmentSize of(Storage storage, RepositoryLayout layout,
      List<BackupManifest> backups) throws IOException {
    Optional<InputStream> in = storage.open(layout.clusterJson());
    if (in.isPresent()) {
      JsonNode doc;
      try (InputStream s = in.get()) {
        doc = JSON.readTree(s);
      }
      long recorded = doc.path("walSegmentSize").asLong(0);
      if (recorded > 0) {
        return new SegmentSize(new Segments(recorded), "cluster.json");
      }
    }
    return fromBackups(backups);
  }

  /** The size every backup agrees with, the default when none decides it. */
  static SegmentSize fromBackups(List<BackupManifest> backups) {
    for (BackupManifest b : backups.reversed()) {
      List<Long> fits = new java.util.ArrayList<>();
      for (long size = 1 << 20; size <= 1L << 30; size <<= 1) {
        if (fits(b, new Segments(size))) {
          fits.add(size);
        }
      }
      if (fits.size() == 1) {
        return new SegmentSize(new Segments(fits.get(0)), "backup.json of " + b.id());
      }
    }
    return new SegmentSize(new Segments(Segments.DEFAULT_SIZE), "default");
  }

  private static boolean fits(BackupManifest b, Segments s) {
    try {
      long start = Lsn.parse(b.startLsn()).value();
      long stop = Lsn.parse(b.stopLsn()).value();
      return s.name(b.timeline(), s.segmentNo(start)).equals(b.walStartSegment())
          && s.name(b.timeline(), s.segmentNo(Math.max(start, stop - 1))).equals(b.walStopSegment());
    } catch (RuntimeException e) {
      return false; // a backup.json without LSNs decides nothing
    }
  }

  public long bytes() {
    return segments.size();
  }
}
