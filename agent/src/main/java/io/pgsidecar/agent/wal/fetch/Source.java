package io.pgsidecar.agent.wal.fetch;

import java.io.IOException;
import java.io.InputStream;

/**
 * A WAL file ready to be served: its plain content (decoded, not yet verified), the SHA-256 and
 * size the archive recorded for it, and where it comes from (an object key or the spool).
 * Closing it releases what backs it (the storage stream, the spool file).
 */
public final class Source implements AutoCloseable {

  private final String name;
  private final String origin;
  private final String sha256;
  private final long size;
  private final long storedSize;
  private final InputStream plain;
  private final Runnable onClose;

  Source(String name, String origin, String sha256, long size, long storedSize, InputStream plain,
      Runnable onClose) {
    this.storedSize = storedSize;
    this.name = name;
    this.origin = origin;
    this.sha256 = sha256;
    this.size = size;
    this.plain = plain;
    this.onClose = onClose;
  }

  public String name() {
    return name;
  }

  /** Object key, or {@code spool:<path>} when served from the prefetch spool. */
  public String origin() {
    return origin;
  }

  public String sha256() {
    return sha256;
  }

  /** Plain size recorded in metadata, or -1 when unknown. */
  public long size() {
    return size;
  }

  /** Size of the stored (encoded) object; 0 for a spool file. */
  public long storedSize() {
    return storedSize;
  }

  public InputStream plain() {
    return plain;
  }

  @Override
  public void close() throws IOException {
    try {
      plain.close();
    } finally {
      onClose.run();
    }
  }
}
