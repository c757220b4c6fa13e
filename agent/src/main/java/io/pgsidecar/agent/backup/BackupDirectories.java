package io.pgsidecar.agent.backup;

import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
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

/**
 * The base backup directories of the repository ({@code base/<id>/}), as {@link BackupService}
 * reads them: every directory with its objects, whether it holds {@code backup.json} (only then
 * is it a backup), and its newest object (unfinished data is removed once old enough).
 */
final class BackupDirectories {

  private final Storage storage;
  private final RepositoryLayout layout;

  BackupDirectories(Storage storage, RepositoryLayout layout) {
    this.storage = storage;
    this.layout = layout;
  }

  /** Whether any object of {@code id} exists (ids are never reused). */
  boolean taken(String id) throws IOException {
    try (var s = storage.list(layout.baseDir(id))) {
      return s.findAny().isPresent();
    }
  }

  Optional<BackupManifest> read(String id) throws IOException {
    String key = layout.baseManifest(id);
    Optional<InputStream> in = storage.open(key);
    if (in.isEmpty()) {
      return Optional.empty();
    }
    try (InputStream s = in.get()) {
      return Optional.of(BackupManifest.fromJson(s.readAllBytes(), key));
    }
  }

  static final class Dir {
    final List<String> keys = new ArrayList<>();
    boolean hasManifest;
    Instant newest = Instant.EPOCH;
  }

  /** Every backup directory under base/, by id in time order. */
  Map<String, Dir> all() throws IOException {
    var dirs = new TreeMap<String, Dir>(BackupIds.ORDER);
    String root = layout.baseRoot();
    try (var s = storage.list(root)) {
      for (ObjectInfo o : (Iterable<ObjectInfo>) s::iterator) {
        String rest = o.key().substring(root.length());
        int slash = rest.indexOf('/');
        if (slash <= 0 || !BackupIds.isValid(rest.substring(0, slash))) {
          continue;
        }
        Dir d = dirs.computeIfAbsent(rest.substring(0, slash), k -> new Dir());
        d.keys.add(o.key());
        if (rest.substring(slash + 1).equals("backup.json")) {
          d.hasManifest = true;
        }
        if (o.lastModified() != null && o.lastModified().isAfter(d.newest)) {
          d.newest = o.lastModified();
        }
      }
    }
    return dirs;
  }
}
