package io.pgsidecar.core.storage.azure;

import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Buffers of one size for the first block of creates, kept for the next create instead of being
 * left to the collector. A compressed WAL segment is a few MiB; with four look-ahead uploads at
 * once, fresh buffers per create outlived a young collection, were promoted, and filled the old
 * generation every second or so: full collections of 60-100 ms that stop the agent's event loop
 * too. At most {@code max} buffers are kept; a buffer is given back only after the request that
 * carried it was answered (never after a failure, when the HTTP client may still hold it).
 */
final class ChunkPool {

  private final int chunkSize;
  private final int max;
  private final ConcurrentLinkedDeque<byte[]> free = new ConcurrentLinkedDeque<>();
  private final AtomicInteger kept = new AtomicInteger();

  ChunkPool(int chunkSize, int max) {
    this.chunkSize = chunkSize;
    this.max = max;
  }

  int chunkSize() {
    return chunkSize;
  }

  /** A kept buffer, or a new one. */
  byte[] take() {
    byte[] b = free.pollFirst();
    if (b != null) {
      kept.decrementAndGet();
      return b;
    }
    return new byte[chunkSize];
  }

  /** Keeps {@code b} for a later create, unless the pool is full or it has another size. */
  void give(byte[] b) {
    if (b.length != chunkSize) {
      return;
    }
    if (kept.incrementAndGet() <= max) {
      free.offerFirst(b);
    } else {
      kept.decrementAndGet();
    }
  }

  /** Buffers kept now. */
  int kept() {
    return kept.get();
  }
}
