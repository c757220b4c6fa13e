package io.pgsidecar.core.retention;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.repo.SegmentSize;
import io.pgsidecar.core.retention.RepositoryListing.BackupEntry;
import io.pgsidecar.core.retention.RepositoryListing.BackupPoint;
import io.pgsidecar.core.retention.RepositoryListing.DumpEntry;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.wal.TimelineHistory;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Reads a {@link RepositoryListing} from storage: three listings ({@code base/}, {@code dumps/},
 * {@code wal/}) and one read of each {@code backup.json} and {@code dump.json}. A storage failure
 * is a {@link JobException} of kind {@code STORAGE_UNAVAILABLE} naming the object; a manifest
 * that cannot be read stops retention too (deciding without it could remove what it protects).
 */
public final class ListingReader {

  /**
   * The plain content of a stored history file (decoded by the codec pipeline), or empty when
   * it cannot be decoded here (an encrypted archive and no secret key).
   */
  @FunctionalInterface
  public interface HistoryDecoder {
    Optional<byte[]> decode(ObjectInfo history) throws IOException;
  }

  private static final System.Logger LOG = System.getLogger(ListingReader.class.getName());

  private final Storage storage;
  private final RepositoryLayout layout;
  private final HistoryDecoder decoder;

  /** Without a decoder: every timeline's ancestry is unknown. */
  public ListingReader(Storage storage, RepositoryLayout layout) {
    this(storage, layout, o -> Optional.empty());
  }

  public ListingReader(Storage storage, RepositoryLayout layout, HistoryDecoder decoder) {
    this.storage = storage;
    this.layout = layout;
    this.decoder = decoder;
  }

  public RepositoryListing read() {
    try {
      List<BackupEntry> backups = new ArrayList<>();
      List<BackupManifest> manifests = new ArrayList<>();
      for (Map.Entry<String, List<ObjectInfo>> e : folders(layout.baseRoot()).entrySet()) {
        String id = e.getKey();
        boolean complete = has(e.getValue(), layout.baseManifest(id));
        Optional<BackupPoint> point = Optional.empty();
        if (complete) {
          BackupManifest m = BackupManifest.fromJson(bytes(layout.baseManifest(id)),
              layout.baseManifest(id));
          manifests.add(m);
          point = Optional.of(BackupPoint.of(m));
        }
        backups.add(new BackupEntry(id, point, has(e.getValue(), layout.baseKeepMark(id)), e.getValue()));
      }
      List<DumpEntry> dumps = new ArrayList<>();
      for (Map.Entry<String, List<ObjectInfo>> e : folders(layout.dumpRoot()).entrySet()) {
        String id = e.getKey();
        Optional<Instant> stop = has(e.getValue(), layout.dumpManifest(id))
            ? Optional.of(DumpManifest.fromJson(bytes(layout.dumpManifest(id)), layout.dumpManifest(id)).stop())
            : Optional.empty();
        dumps.add(new DumpEntry(id, stop, has(e.getValue(), layout.dumpKeepMark(id)), e.getValue()));
      }
      List<ObjectInfo> wal;
      try (Stream<ObjectInfo> s = storage.list(layout.walRoot())) {
        wal = s.toList();
      }
      List<ObjectInfo> debris;
      try (Stream<ObjectInfo> s = storage.listDebris(layout.root())) {
        debris = s.toList();
      }
      manifests.sort(java.util.Comparator.comparing(BackupManifest::id));
      SegmentSize size = SegmentSize.of(storage, layout, manifests);
      return new RepositoryListing(backups, dumps, wal, histories(wal), debris, size.bytes());
    } catch (IOException e) {
      throw JobException.storageUnavailable("retention cannot read the repository "
          + storage.describe() + " (" + layout.root() + "): " + e.getMessage()
          + "; nothing was removed, check the storage and run pgsidecar retention apply again", e);
    } catch (RuntimeException e) {
      if (e instanceof JobException) {
        throw e;
      }
      throw JobException.verificationFailed("retention cannot read a manifest in "
          + storage.describe() + " (" + layout.root() + "): " + e.getMessage()
          + "; nothing was removed, fix or move the damaged manifest first");
    }
  }

  private Map<Long, TimelineHistory> histories(List<ObjectInfo> wal) throws IOException {
    Map<Long, TimelineHistory> out = new TreeMap<>();
    for (ObjectInfo o : wal) {
      String file = o.key().substring(o.key().lastIndexOf('/') + 1);
      if (file.length() < 16 || !file.substring(8).startsWith(".history")
          || !io.pgsidecar.core.wal.WalFileName.isValid(file.substring(0, 16))) {
        continue;
      }
      long tl = io.pgsidecar.core.wal.WalFileName.parse(file.substring(0, 16)).timeline();
      Optional<byte[]> plain = decoder.decode(o);
      if (plain.isEmpty()) {
        LOG.log(System.Logger.Level.INFO, "retention: cannot decode {0}; timeline {1}''s ancestry is"
            + " unknown, so every backup that might be in its history is kept", o.key(), tl);
        continue;
      }
      try {
        out.put(tl, TimelineHistory.parse(tl, plain.get(), o.key()));
      } catch (IllegalArgumentException e) {
        LOG.log(System.Logger.Level.WARNING, "retention: {0}: {1}; its ancestry is treated as"
            + " unknown", o.key(), e.getMessage());
      }
    }
    return out;
  }

  /** Objects under {@code root}, grouped by the folder right below it. */
  private Map<String, List<ObjectInfo>> folders(String root) throws IOException {
    Map<String, List<ObjectInfo>> out = new TreeMap<>();
    try (Stream<ObjectInfo> s = storage.list(root)) {
      for (ObjectInfo o : (Iterable<ObjectInfo>) s::iterator) {
        String rest = o.key().substring(root.length());
        int slash = rest.indexOf('/');
        if (slash > 0) {
          out.computeIfAbsent(rest.substring(0, slash), k -> new ArrayList<>()).add(o);
        }
      }
    }
    return out;
  }

  private static boolean has(List<ObjectInfo> objects, String key) {
    return objects.stream().anyMatch(o -> o.key().equals(key));
  }

  private byte[] bytes(String key) throws IOException {
    try (InputStream in = storage.open(key).orElseThrow(() -> new IOException(key
        + " disappeared while retention read the repository; is another retention run or a"
        + " backup delete running? Run it again when that ends"))) {
      return in.readAllBytes();
    }
  }
}
