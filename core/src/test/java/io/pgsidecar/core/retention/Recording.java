package io.pgsidecar.core.retention;

import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * For the retention tests: a storage holding the given (empty) objects, recording deletes in
 * order and failing delete number {@code failAt} (0-based; -1 never) with "HTTP 503 from the
 * store".
 */
final class Recording {
  final MemoryStorage storage = new MemoryStorage();
  final List<String> deleted = new ArrayList<>();
  int failAt = -1;

  final io.pgsidecar.core.storage.Storage view = new io.pgsidecar.core.storage.Storage() {
    @Override
    public ObjectInfo create(String key, java.io.InputStream content,
        java.util.function.Supplier<ObjectMetadata> metadata) throws IOException {
      return storage.create(key, content, metadata);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
      return storage.stat(key);
    }

    @Override
    public Optional<java.io.InputStream> open(String key) throws IOException {
      return storage.open(key);
    }

    @Override
    public java.util.stream.Stream<ObjectInfo> list(String prefix) throws IOException {
      return storage.list(prefix);
    }

    @Override
    public boolean delete(String key) throws IOException {
      if (deleted.size() == failAt) {
        throw new IOException("HTTP 503 from the store");
      }
      deleted.add(key);
      return storage.delete(key);
    }

    @Override
    public void probe() {}

    @Override
    public String describe() {
      return "memory://test";
    }
  };

  Recording(Set<String> keys) throws IOException {
    for (String k : keys) {
      storage.create(k, new ByteArrayInputStream(new byte[0]), () -> new ObjectMetadata("", 0, "none", ""));
    }
  }

  Set<String> keys() throws IOException {
    try (var s = storage.list("")) {
      return s.map(ObjectInfo::key).collect(Collectors.toCollection(TreeSet::new));
    }
  }
}
