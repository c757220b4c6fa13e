package io.pgsidecar.agent.support;

import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A {@link MemoryStorage} whose WAL creates wait at a gate until the test opens it, to hold an
 * upload "in flight" (a slow or hung storage) at a moment the test chooses.
 */
public final class GatedStorage implements Storage {

  public final MemoryStorage inner = new MemoryStorage();
  public final CountDownLatch entered = new CountDownLatch(1);
  public final CountDownLatch gate = new CountDownLatch(1);
  private final java.util.function.Predicate<String> gated;

  /** Gates every WAL create. */
  public GatedStorage() {
    this(key -> key.contains("/wal/"));
  }

  /** Gates the creates whose key matches. */
  public GatedStorage(java.util.function.Predicate<String> gated) {
    this.gated = gated;
  }

  @Override
  public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException {
    if (gated.test(key)) {
      entered.countDown();
      try {
        gate.await();
      } catch (InterruptedException e) {
        throw new InterruptedIOException("create " + key + " interrupted");
      }
    }
    return inner.create(key, content, metadata);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    return inner.stat(key);
  }

  @Override
  public Optional<InputStream> open(String key) throws IOException {
    return inner.open(key);
  }

  @Override
  public Stream<ObjectInfo> list(String prefix) throws IOException {
    return inner.list(prefix);
  }

  @Override
  public boolean delete(String key) throws IOException {
    return inner.delete(key);
  }

  @Override
  public void probe() throws IOException {
    inner.probe();
  }

  @Override
  public String describe() {
    return "gated-memory://";
  }
}
