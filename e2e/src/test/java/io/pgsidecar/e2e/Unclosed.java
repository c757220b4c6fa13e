package io.pgsidecar.e2e;

import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;

/** A storage shared with the running agent: restore-init's close must not close it. */
record Unclosed(Storage storage) implements Storage {
  @Override
  public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException {
    return storage.create(key, content, metadata);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    return storage.stat(key);
  }

  @Override
  public Optional<InputStream> open(String key) throws IOException {
    return storage.open(key);
  }

  @Override
  public Stream<ObjectInfo> list(String prefix) throws IOException {
    return storage.list(prefix);
  }

  @Override
  public boolean delete(String key) throws IOException {
    return storage.delete(key);
  }

  @Override
  public void probe() throws IOException {
    storage.probe();
  }

  @Override
  public String describe() {
    return storage.describe();
  }

  @Override
  public void close() {}
}
