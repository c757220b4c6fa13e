package io.pgsidecar.core.storage;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/** An in-memory {@link Storage} for unit tests. Keeps the full contract; holds objects on the heap. */
public final class MemoryStorage implements Storage {

  private record Entry(byte[] bytes, ObjectInfo info) {}

  private final ConcurrentSkipListMap<String, Entry> objects = new ConcurrentSkipListMap<>();
  private volatile IOException failure;

  /** Makes every following call fail with {@code e} (or succeed again with {@code null}). */
  public void failWith(IOException e) {
    this.failure = e;
  }

  private void check() throws IOException {
    IOException e = failure;
    if (e != null) {
      throw e;
    }
  }

  @Override
  public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException {
    check();
    byte[] bytes = content.readAllBytes();
    ObjectInfo info = new ObjectInfo(key, bytes.length, Instant.now(), metadata.get());
    if (objects.putIfAbsent(key, new Entry(bytes, info)) != null) {
      return ExistingObject.ownOrConflict(this, key, info.metadata(), new ObjectExistsException(key));
    }
    return info;
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    check();
    return Optional.ofNullable(objects.get(key)).map(Entry::info);
  }

  @Override
  public Optional<InputStream> open(String key) throws IOException {
    check();
    return Optional.ofNullable(objects.get(key)).map(e -> new ByteArrayInputStream(e.bytes()));
  }

  @Override
  public Stream<ObjectInfo> list(String prefix) throws IOException {
    check();
    var out = new ArrayList<ObjectInfo>();
    for (Map.Entry<String, Entry> e : objects.tailMap(prefix, true).entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        break;
      }
      out.add(e.getValue().info());
    }
    return out.stream();
  }

  @Override
  public boolean delete(String key) throws IOException {
    check();
    return objects.remove(key) != null;
  }

  @Override
  public void probe() throws IOException {
    check();
  }

  @Override
  public String describe() {
    return "memory://";
  }
}
