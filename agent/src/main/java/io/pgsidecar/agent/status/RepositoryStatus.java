package io.pgsidecar.agent.status;

import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.repo.SegmentSize;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What one cluster's repository holds, read straight from storage for {@code pgsidecar status}
 * (the agent's {@code /v1/status} answers from memory and forgets at a restart; storage does
 * not): objects and bytes stored per kind, the complete base backups, the newest archived segment,
 * the newest dump and how it ended, and the recoverable window. No HTTP, no agent.
 */
public final class RepositoryStatus {

  /** Objects and stored bytes of one kind. */
  public record Usage(long objects, long bytes) {
    Usage plus(long size) {
      return new Usage(objects + 1, bytes + size);
    }
  }

  /** The newest dump folder: its id, whether {@code dump.json} (complete) or {@code failure.json} is there, and when. */
  public record DumpEnd(String id, boolean complete, Instant at) {}

  /**
   * What was read.
   *
   * @param usage by kind: {@code baseBackups}, {@code dumps}, {@code wal}, {@code other}
   *     ({@code cluster.json} and anything else under the cluster's folder)
   */
  public record Snapshot(String archive, Map<String, Usage> usage, List<BackupManifest> backups,
      Optional<ArchiveCatalog.WalEntry> newestSegment, Optional<DumpEnd> newestDump,
      Optional<ArchiveCatalog.Window> window) {}

  private final Storage storage;
  private final RepositoryLayout layout;

  public RepositoryStatus(Storage storage, RepositoryLayout layout) {
    this.storage = storage;
    this.layout = layout;
  }

  /** Lists the cluster's folder once, reads the backup manifests. */
  public Snapshot read() throws IOException {
    ArchiveCatalog catalog = new ArchiveCatalog(storage, layout);
    Map<String, Usage> usage = new LinkedHashMap<>();
    for (String kind : List.of("baseBackups", "dumps", "wal", "other")) {
      usage.put(kind, new Usage(0, 0));
    }
    TreeMap<String, DumpEnd> dumps = new TreeMap<>();
    try (Stream<ObjectInfo> objects = storage.list(layout.root())) {
      for (ObjectInfo o : (Iterable<ObjectInfo>) objects::iterator) {
        String kind = kindOf(o.key());
        usage.put(kind, usage.get(kind).plus(o.storedSize()));
        if (kind.equals("dumps")) {
          dumpEnd(o).ifPresent(d -> dumps.merge(d.id(), d, (a, b) -> a.complete() ? a : b));
        }
      }
    }
    List<BackupManifest> backups = catalog.backups();
    List<ArchiveCatalog.WalEntry> segments = catalog.segments();
    return new Snapshot(catalog.describe(), usage, backups,
        segments.isEmpty() ? Optional.empty() : Optional.of(segments.getLast()),
        dumps.isEmpty() ? Optional.empty() : Optional.of(dumps.lastEntry().getValue()),
        ArchiveCatalog.window(backups, segments, SegmentSize.of(storage, layout, backups).bytes()));
  }

  private String kindOf(String key) {
    if (key.startsWith(layout.baseRoot())) {
      return "baseBackups";
    }
    if (key.startsWith(layout.dumpRoot())) {
      return "dumps";
    }
    return key.startsWith(layout.walRoot()) ? "wal" : "other";
  }

  /** {@code dumps/<id>/dump.json} or {@code failure.json}: how that dump ended. */
  private Optional<DumpEnd> dumpEnd(ObjectInfo o) {
    String rest = o.key().substring(layout.dumpRoot().length());
    int slash = rest.indexOf('/');
    if (slash < 0) {
      return Optional.empty();
    }
    String file = rest.substring(slash + 1);
    if (!file.equals("dump.json") && !file.equals("failure.json")) {
      return Optional.empty();
    }
    return Optional.of(new DumpEnd(rest.substring(0, slash), file.equals("dump.json"),
        o.lastModified()));
  }
}
