package io.pgsidecar.core.retention;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.retention.RepositoryListing.BackupEntry;
import io.pgsidecar.core.retention.RepositoryListing.BackupPoint;
import io.pgsidecar.core.retention.RepositoryListing.DumpEntry;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
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

  private final Storage storage;
  private final RepositoryLayout layout;

  public ListingReader(Storage storage, RepositoryLayout layout) {
    this.storage = storage;
    this.layout = layout;
  }

  public RepositoryListing read() {
    try {
      List<BackupEntry> backups = new ArrayList<>();
      for (Map.Entry<String, List<ObjectInfo>> e : folders(layout.baseRoot()).entrySet()) {
        String id = e.getKey();
        boolean complete = has(e.getValue(), layout.baseManifest(id));
        Optional<BackupPoint> point = complete
            ? Optional.of(BackupPoint.of(BackupManifest.fromJson(bytes(layout.baseManifest(id)),
                layout.baseManifest(id))))
            : Optional.empty();
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
      return new RepositoryListing(backups, dumps, wal);
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
