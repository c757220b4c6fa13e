package io.pgsidecar.agent.metrics;

import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Optional;
import java.util.Spliterator;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A {@link Storage} that counts and times every call of the one it wraps, so the drivers stay
 * free of metrics. Results: {@code ok}; {@code conflict} when create finds the key taken;
 * {@code not_found} for an empty stat/open or a delete of nothing; {@code error} for any
 * exception, which is rethrown unchanged.
 *
 * <p>{@link #open} is timed until the stream is handed over (the first byte is the driver's
 * latency; reading is the caller's pace). A {@link #list} is one request recorded when its lazy
 * stream is closed, or as an error when paging fails midway.
 */
public final class InstrumentedStorage implements Storage {
  private final Storage delegate;
  private final AgentMetrics metrics;

  public InstrumentedStorage(Storage delegate, AgentMetrics metrics) {
    this.delegate = delegate;
    this.metrics = metrics;
  }

  @Override
  public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException {
    long start = System.nanoTime();
    try {
      ObjectInfo info = delegate.create(key, content, metadata);
      record(StorageOperation.CREATE, Result.OK, start);
      return info;
    } catch (ObjectExistsException e) {
      record(StorageOperation.CREATE, Result.CONFLICT, start);
      throw e;
    } catch (IOException | RuntimeException | Error e) {
      record(StorageOperation.CREATE, Result.ERROR, start);
      throw e;
    }
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    long start = System.nanoTime();
    try {
      Optional<ObjectInfo> info = delegate.stat(key);
      record(StorageOperation.STAT, info.isPresent() ? Result.OK : Result.NOT_FOUND, start);
      return info;
    } catch (IOException | RuntimeException | Error e) {
      record(StorageOperation.STAT, Result.ERROR, start);
      throw e;
    }
  }

  @Override
  public Optional<InputStream> open(String key) throws IOException {
    long start = System.nanoTime();
    try {
      Optional<InputStream> in = delegate.open(key);
      record(StorageOperation.OPEN, in.isPresent() ? Result.OK : Result.NOT_FOUND, start);
      return in;
    } catch (IOException | RuntimeException | Error e) {
      record(StorageOperation.OPEN, Result.ERROR, start);
      throw e;
    }
  }

  @Override
  public Stream<ObjectInfo> list(String prefix) throws IOException {
    long start = System.nanoTime();
    Stream<ObjectInfo> listed;
    try {
      listed = delegate.list(prefix);
    } catch (IOException | RuntimeException | Error e) {
      record(StorageOperation.LIST, Result.ERROR, start);
      throw e;
    }
    AtomicBoolean recorded = new AtomicBoolean();
    Spliterator<ObjectInfo> pages = new FailureWatchingSpliterator(listed.spliterator(), () -> {
      if (recorded.compareAndSet(false, true)) {
        record(StorageOperation.LIST, Result.ERROR, start);
      }
    });
    return StreamSupport.stream(pages, false).onClose(() -> {
      try {
        listed.close();
      } finally {
        if (recorded.compareAndSet(false, true)) {
          record(StorageOperation.LIST, Result.OK, start);
        }
      }
    });
  }

  @Override
  public Stream<ObjectInfo> listDebris(String prefix) throws IOException {
    long start = System.nanoTime();
    try {
      Stream<ObjectInfo> debris = delegate.listDebris(prefix);
      record(StorageOperation.LIST, Result.OK, start);
      return debris;
    } catch (IOException | RuntimeException | Error e) {
      record(StorageOperation.LIST, Result.ERROR, start);
      throw e;
    }
  }

  @Override
  public boolean setTier(String key, String tier) throws IOException {
    return delegate.setTier(key, tier);
  }

  @Override
  public boolean deleteDebris(String key) throws IOException {
    long start = System.nanoTime();
    try {
      boolean deleted = delegate.deleteDebris(key);
      record(StorageOperation.DELETE, deleted ? Result.OK : Result.NOT_FOUND, start);
      return deleted;
    } catch (IOException | RuntimeException | Error e) {
      record(StorageOperation.DELETE, Result.ERROR, start);
      throw e;
    }
  }

  @Override
  public boolean delete(String key) throws IOException {
    long start = System.nanoTime();
    try {
      boolean deleted = delegate.delete(key);
      record(StorageOperation.DELETE, deleted ? Result.OK : Result.NOT_FOUND, start);
      return deleted;
    } catch (IOException | RuntimeException | Error e) {
      record(StorageOperation.DELETE, Result.ERROR, start);
      throw e;
    }
  }

  @Override
  public void probe() throws IOException {
    long start = System.nanoTime();
    try {
      delegate.probe();
      record(StorageOperation.PROBE, Result.OK, start);
    } catch (IOException | RuntimeException | Error e) {
      record(StorageOperation.PROBE, Result.ERROR, start);
      throw e;
    }
  }

  @Override
  public String describe() {
    return delegate.describe();
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }

  private void record(StorageOperation op, Result result, long startNanos) {
    metrics.storageRequest(op, result, Duration.ofNanos(System.nanoTime() - startNanos));
  }

  /** Passes elements through and reports the first exception thrown while paging. */
  private record FailureWatchingSpliterator(Spliterator<ObjectInfo> inner, Runnable onFailure)
      implements Spliterator<ObjectInfo> {
    @Override
    public boolean tryAdvance(Consumer<? super ObjectInfo> action) {
      // A failure of the caller's own action is not a storage error: only count the driver's.
      boolean[] inAction = {false};
      try {
        return inner.tryAdvance(element -> {
          inAction[0] = true;
          action.accept(element);
          inAction[0] = false;
        });
      } catch (RuntimeException | Error e) {
        if (!inAction[0]) {
          onFailure.run();
        }
        throw e;
      }
    }

    @Override
    public Spliterator<ObjectInfo> trySplit() {
      return null;
    }

    @Override
    public long estimateSize() {
      return inner.estimateSize();
    }

    @Override
    public int characteristics() {
      return inner.characteristics() & ~(Spliterator.SIZED | Spliterator.SUBSIZED);
    }
  }
}
