package io.pgsidecar.core.storage.azure;

import java.lang.ref.SoftReference;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one memory budget of every read of an {@link AzureStorage}: at most {@code max} range
 * buffers of {@code rangeSize} bytes exist at once, whatever the number of streams open. A stream
 * takes one with {@link #tryTake()}, which never waits: with none left it reads through its own
 * small lean buffer ({@link #leanSize()}) instead, so a download always starts and always makes
 * progress (no stream waits for a buffer another stream holds: no deadlock, even when a reader
 * stops reading without closing its stream). The agent prefetched four segments at once with a
 * read-ahead of up to five 8 MiB ranges each and ran out of its 80 MiB heap (issue 14); with
 * this, reads hold at most {@code max x rangeSize} plus one lean buffer per open stream.
 *
 * <p>Buffers given back are kept for the next range instead of being left to the collector (a
 * multi-MiB array is a humongous object for G1 and goes straight to the old generation), but
 * softly: an agent that restored once does not hold 20 MiB of idle buffers for ever, the
 * collector takes them back when the heap needs them. A buffer whose request failed is dropped,
 * not kept: the HTTP client may still write into it.
 */
final class ReadBuffers {

  /** Lean reads: small enough that a few dozen open streams cost little, large enough to stream. */
  static final int DEFAULT_LEAN = 512 * 1024;

  private final int rangeSize;
  private final int max;
  private final int leanSize;
  private final ConcurrentLinkedDeque<SoftReference<byte[]>> free = new ConcurrentLinkedDeque<>();
  private final AtomicInteger out = new AtomicInteger();
  private final AtomicLong held = new AtomicLong();
  private final AtomicLong peakHeld = new AtomicLong();

  ReadBuffers(int rangeSize, int max, int leanSize) {
    if (rangeSize < 1 || max < 1 || leanSize < 1) {
      throw new IllegalArgumentException("read buffers need a positive size and count, got "
          + rangeSize + " x " + max + " (lean " + leanSize + ")");
    }
    this.rangeSize = rangeSize;
    this.max = max;
    this.leanSize = Math.min(leanSize, rangeSize);
  }

  int rangeSize() {
    return rangeSize;
  }

  int leanSize() {
    return leanSize;
  }

  /** A range buffer, or null when {@code max} are in use (never waits). */
  byte[] tryTake() {
    while (true) {
      int n = out.get();
      if (n >= max) {
        return null;
      }
      if (out.compareAndSet(n, n + 1)) {
        break;
      }
    }
    count(rangeSize);
    for (SoftReference<byte[]> kept; (kept = free.pollFirst()) != null; ) {
      byte[] b = kept.get();
      if (b != null) {
        return b;
      }
    }
    return new byte[rangeSize];
  }

  /** Gives back a buffer from {@link #tryTake()} whose request was answered; kept for the next. */
  void give(byte[] b) {
    free.offerFirst(new SoftReference<>(b));
    count(-b.length);
    out.decrementAndGet();
  }

  /** Gives back the slot of a buffer whose request failed or may still run: the buffer is dropped. */
  void drop(byte[] b) {
    count(-b.length);
    out.decrementAndGet();
  }

  /** A stream's own lean buffer (counted while it lives, see {@link #leanDone}). */
  byte[] lean() {
    count(leanSize);
    return new byte[leanSize];
  }

  /** The stream that owned a lean buffer is done with it. */
  void leanDone(byte[] b) {
    count(-b.length);
  }

  /** Range buffers handed out now. */
  int inUse() {
    return out.get();
  }

  /** Bytes of range and lean buffers in use now (kept ones, which the collector may take, not). */
  long heldBytes() {
    return held.get();
  }

  /** The most {@link #heldBytes()} ever was. */
  long peakHeldBytes() {
    return peakHeld.get();
  }

  private void count(long delta) {
    long now = held.addAndGet(delta);
    peakHeld.accumulateAndGet(now, Math::max);
  }
}
