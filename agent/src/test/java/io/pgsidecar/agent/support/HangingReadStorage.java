package io.pgsidecar.agent.support;

import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * A {@link MemoryStorage} whose downloads hang after {@code bytesBeforeHang} bytes until the
 * stream is closed, like a storage connection that stops sending mid-object.
 */
public final class HangingReadStorage extends ForwardingStorage {

  public final MemoryStorage inner;
  private final int bytesBeforeHang;

  public HangingReadStorage(int bytesBeforeHang) {
    this(new MemoryStorage(), bytesBeforeHang);
  }

  private HangingReadStorage(MemoryStorage inner, int bytesBeforeHang) {
    super(inner);
    this.inner = inner;
    this.bytesBeforeHang = bytesBeforeHang;
  }

  @Override
  public Optional<InputStream> open(String key) throws IOException {
    return inner.open(key).map(in -> new FilterInputStream(in) {
      private final CountDownLatch closed = new CountDownLatch(1);
      private int sent;

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (sent >= bytesBeforeHang) {
          try {
            closed.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          throw new IOException("stream closed while reading");
        }
        int n = super.read(b, off, Math.min(len, bytesBeforeHang - sent));
        sent += Math.max(0, n);
        return n;
      }

      @Override
      public void close() throws IOException {
        closed.countDown();
        super.close();
      }
    });
  }

  @Override
  public String describe() {
    return "hanging-memory://";
  }
}
