package io.pgsidecar.agent.support;

import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A storage that passes every call to another one: test doubles (a gate, a failure, a hang)
 * extend it and override only the call they change.
 */
public abstract class ForwardingStorage implements Storage {

  protected final Storage delegate;

  protected ForwardingStorage(Storage delegate) {
    this.delegate = delegate;
  }

  @Override
  public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException {
    return delegate.create(key, content, metadata);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    return delegate.stat(key);
  }

  @Override
  public Optional<InputStream> open(String key) throws IOException {
    return delegate.open(key);
  }

  @Override
  public Stream<ObjectInfo> list(String prefix) throws IOException {
    return delegate.list(prefix);
  }

  @Override
  public boolean delete(String key) throws IOException {
    return delegate.delete(key);
  }

  @Override
  public void probe() throws IOException {
    delegate.probe();
  }

  @Override
  public String describe() {
    return delegate.describe();
  }
}
