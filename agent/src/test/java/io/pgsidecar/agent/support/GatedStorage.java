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
public final class GatedStorage extends ForwardingStorage {

  public final MemoryStorage inner;
  public final CountDownLatch entered = new CountDownLatch(1);
  public final CountDownLatch gate = new CountDownLatch(1);
  private final java.util.function.Predicate<String> gated;

  /** Gates every WAL create. */
  public GatedStorage() {
    this(key -> key.contains("/wal/"));
  }

  /** Gates the creates whose key matches. */
  public GatedStorage(java.util.function.Predicate<String> gated) {
    this(new MemoryStorage(), gated);
  }

  private GatedStorage(MemoryStorage inner, java.util.function.Predicate<String> gated) {
    super(inner);
    this.inner = inner;
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
  public String describe() {
    return "gated-memory://";
  }
}
