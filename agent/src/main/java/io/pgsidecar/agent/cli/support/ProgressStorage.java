package io.pgsidecar.agent.cli.support;

import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A storage that shows, on a {@link ProgressLine}, how far each object read through
 * {@link #open} is: bytes read of its stored size (so rate and ETA), for commands that read a
 * backup or dump back in this process ({@code backup verify}, {@code dump verify}). Everything
 * else goes to the wrapped storage unchanged; closing this does not close it.
 */
public final class ProgressStorage implements Storage {

  private final Storage storage;
  private final String what;
  private final ProgressLine line;

  public ProgressStorage(Storage storage, String what, ProgressLine line) {
    this.storage = storage;
    this.what = what;
    this.line = line;
  }

  @Override
  public Optional<InputStream> open(String key) throws IOException {
    Optional<InputStream> in = storage.open(key);
    if (in.isEmpty()) {
      return in;
    }
    OptionalLong total = storage.stat(key).map(o -> OptionalLong.of(o.storedSize()))
        .orElse(OptionalLong.empty());
    long started = System.nanoTime();
    String label = what + " " + key;
    return Optional.of(new FilterInputStream(in.get()) {
      private long read;

      private void advanced(long n) {
        if (n > 0) {
          read += n;
          long now = System.nanoTime();
          line.update(label, read, total, Duration.ofNanos(now - started), now);
        }
      }

      @Override
      public int read() throws IOException {
        int b = super.read();
        advanced(b < 0 ? 0 : 1);
        return b;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        advanced(n);
        return n;
      }

      @Override
      public void close() throws IOException {
        try {
          super.close();
        } finally {
          line.finish();
        }
      }
    });
  }

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
  public Stream<ObjectInfo> list(String prefix) throws IOException {
    return storage.list(prefix);
  }

  @Override
  public boolean delete(String key) throws IOException {
    return storage.delete(key);
  }

  @Override
  public Stream<ObjectInfo> listDebris(String prefix) throws IOException {
    return storage.listDebris(prefix);
  }

  @Override
  public boolean deleteDebris(String key) throws IOException {
    return storage.deleteDebris(key);
  }

  @Override
  public boolean setTier(String key, String tier) throws IOException {
    return storage.setTier(key, tier);
  }

  @Override
  public void probe() throws IOException {
    storage.probe();
  }

  @Override
  public String describe() {
    return storage.describe();
  }
}
