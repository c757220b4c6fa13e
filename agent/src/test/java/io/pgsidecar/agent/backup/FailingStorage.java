package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.support.ForwardingStorage;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;

/** Test double around a real storage: the next create of a base backup data object fails midway. */
final class FailingStorage extends ForwardingStorage {

  private volatile long failAfter = -1;

  FailingStorage(Storage delegate) {
    super(delegate);
  }

  /** The next data upload throws after {@code bytes} stored bytes were read. */
  void failNextDataUploadAfter(long bytes) {
    failAfter = bytes;
  }

  @Override
  public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException {
    long limit = failAfter;
    if (limit < 0 || !key.contains("/base/") || key.endsWith("backup.json")) {
      return delegate.create(key, content, metadata);
    }
    failAfter = -1;
    InputStream failing = new FilterInputStream(content) {
      long read;

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (read >= limit) {
          throw new IOException("injected failure after " + limit + " bytes");
        }
        int n = super.read(b, off, (int) Math.min(len, limit - read));
        read += Math.max(0, n);
        return n;
      }
    };
    return delegate.create(key, failing, metadata);
  }

  @Override
  public String describe() {
    return "failing(" + delegate.describe() + ")";
  }
}
