package io.pgsidecar.core.repo;

import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.wal.Lsn;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What one cluster's archive holds: its complete base backups (those whose {@code backup.json}
 * exists) and its WAL segments, and from both the recoverable window: from the end of the oldest
 * backup to the end of the newest archived segment. The restore path reads it to choose a backup
 * and to refuse targets the archive cannot reach; {@code pgsidecar wal list} prints it.
 */
public final class ArchiveCatalog {

  private final Storage storage;
  private final RepositoryLayout layout;

  public ArchiveCatalog(Storage storage, RepositoryLayout layout) {
    this.storage = storage;
    this.layout = layout;
  }

  public RepositoryLayout layout() {
    return layout;
  }

  /** Where this archive lives, for messages: {@code fs:///repo/prod/db1/}. */
  public String describe() {
    String d = storage.describe();
    return d + (d.endsWith("/") ? "" : "/") + layout.root();
  }

  /** Complete backups, oldest first. A directory without backup.json is not a backup (yet). */
  public List<BackupManifest> backups() throws IOException {
    List<BackupManifest> out = new ArrayList<>();
    try (Stream<ObjectInfo> objects = storage.list(layout.baseRoot())) {
      for (ObjectInfo o : (Iterable<ObjectInfo>) objects::iterator) {
        if (o.key().endsWith("/backup.json")) {
          out.add(read(o.key()));
        }
      }
    }
    out.sort(Comparator.comparing(BackupManifest::id));
    return out;
  }

  private BackupManifest read(String key) throws IOException {
    try (InputStream in = storage.open(key).orElseThrow(() -> new IOException(
        "backup manifest " + key + " disappeared while reading the catalog; was it deleted meanwhile (pgsidecar backup delete, a lifecycle rule of the storage)? Read the catalog again"))) {
      return BackupManifest.fromJson(in.readAllBytes(), key);
    }
  }

  /** A stored WAL segment: its name, its key and when it was stored. */
  public record WalEntry(WalFileName name, String key, Instant storedAt) {}

  /**
   * Stored WAL segments (not history, {@code .partial} or {@code .backup} files), ordered by
   * timeline, then position.
   */
  public List<WalEntry> segments() throws IOException {
    List<WalEntry> out = new ArrayList<>();
    try (Stream<ObjectInfo> objects = storage.list(layout.walRoot())) {
      for (ObjectInfo o : (Iterable<ObjectInfo>) objects::iterator) {
        segmentOf(o.key()).ifPresent(n -> out.add(new WalEntry(n, o.key(), o.lastModified())));
      }
    }
    out.sort(SEGMENT_ORDER);
    return out;
  }

  /** Timeline history files stored ({@code 00000002.history}), by timeline. */
  public List<WalFileName> histories() throws IOException {
    List<WalFileName> out = new ArrayList<>();
    try (Stream<ObjectInfo> objects = storage.list(layout.walRoot())) {
      for (ObjectInfo o : (Iterable<ObjectInfo>) objects::iterator) {
        String file = o.key().substring(o.key().lastIndexOf('/') + 1);
        if (file.length() >= 16 && file.substring(8).startsWith(".history")
            && WalFileName.isValid(file.substring(0, 16))) {
          out.add(WalFileName.parse(file.substring(0, 16)));
        }
      }
    }
    out.sort(Comparator.comparingLong(WalFileName::timeline));
    return out;
  }

  private static final Comparator<WalEntry> SEGMENT_ORDER =
      Comparator.comparingLong((WalEntry w) -> w.name().timeline())
          .thenComparingLong(w -> w.name().log())
          .thenComparingLong(w -> w.name().segment());

  /** The segment a stored key holds: 24 hex digits followed only by the codec suffix. */
  static Optional<WalFileName> segmentOf(String key) {
    String file = key.substring(key.lastIndexOf('/') + 1);
    if (file.length() < 24) {
      return Optional.empty();
    }
    String rest = file.substring(24);
    if (!rest.isEmpty() && !rest.startsWith(".zst") && !rest.startsWith(".pgp")) {
      return Optional.empty(); // .partial, .XXXXXXXX.backup
    }
    String name = file.substring(0, 24);
    return WalFileName.isValid(name) ? Optional.of(WalFileName.parse(name)) : Optional.empty();
  }

  /**
   * The span a point-in-time restore can reach.
   *
   * @param firstTime when the oldest backup was stored: no target before it can be reached
   * @param firstLsn that backup's stop LSN (where it becomes consistent)
   * @param firstBackup that backup's id
   * @param lastSegment the newest archived segment (highest timeline, then position)
   * @param lastTime when that segment was stored: no commit after it is in the archive
   * @param lastLsn the end of that segment
   * @param segmentCount how many segments the archive holds
   */
  public record Window(Instant firstTime, Lsn firstLsn, String firstBackup, String lastSegment,
      Instant lastTime, Lsn lastLsn, int segmentCount) {

    public String describe() {
      return "from " + firstTime + " (LSN " + firstLsn + ", end of backup " + firstBackup + ") to "
          + lastTime + " (LSN " + lastLsn + ", end of WAL segment " + lastSegment + ")";
    }
  }

  /** The recoverable window, or empty when there is no complete backup or no WAL. */
  public Optional<Window> window() throws IOException {
    List<BackupManifest> backups = backups();
    return window(backups, segments(), SegmentSize.of(storage, layout, backups).bytes());
  }

  /** The window with the segment size the backups' LSNs and segment names agree on. */
  public static Optional<Window> window(List<BackupManifest> backups, List<WalEntry> segments) {
    return window(backups, segments, SegmentSize.fromBackups(backups).bytes());
  }

  /**
   * The window; {@code segmentSize} (the archive's {@code wal_segment_size}, {@link SegmentSize})
   * turns the newest segment's name into the LSN where it ends.
   */
  public static Optional<Window> window(List<BackupManifest> backups, List<WalEntry> segments,
      long segmentSize) {
    if (backups.isEmpty() || segments.isEmpty()) {
      return Optional.empty();
    }
    BackupManifest first = backups.get(0);
    WalEntry last = segments.stream().max(SEGMENT_ORDER).orElseThrow();
    Lsn end = new Lsn((last.name().log() << 32) + (last.name().segment() + 1) * segmentSize);
    return Optional.of(new Window(first.stopTime(), Lsn.parse(first.stopLsn()), first.id(),
        last.name().name(), last.storedAt(), end, segments.size()));
  }
}
