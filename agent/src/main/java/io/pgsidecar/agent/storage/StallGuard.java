package io.pgsidecar.agent.storage;

import java.lang.System.Logger.Level;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;

/**
 * Closes a stream that makes no progress for {@code storage.timeout}: a read from storage that
 * hangs mid-object cannot be interrupted, but closing its stream ends it, so a stuck download
 * never blocks restore_command (and PostgreSQL's recovery) forever. The reader calls
 * {@link #progress()} after each chunk and {@link #close()} when done.
 */
public final class StallGuard implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(StallGuard.class.getName());

  private final Closeable target;
  private final long timeoutNanos;
  private final String what;
  private final Thread watcher;
  private volatile long lastProgress = System.nanoTime();
  private volatile boolean done;
  private volatile boolean fired;

  private StallGuard(Closeable target, Duration timeout, String what) {
    this.target = target;
    this.timeoutNanos = timeout.toNanos();
    this.what = what;
    this.watcher = Thread.ofVirtual().name("stall-guard " + what).start(this::watch);
  }

  /** Starts watching {@code target}; {@code what} names the transfer in the log line. */
  public static StallGuard watch(Closeable target, Duration timeout, String what) {
    return new StallGuard(target, timeout, what);
  }

  public void progress() {
    lastProgress = System.nanoTime();
  }

  /** {@code true} when the guard closed the stream because it stalled. */
  public boolean fired() {
    return fired;
  }

  private void watch() {
    try {
      while (!done) {
        long idle = System.nanoTime() - lastProgress;
        if (idle >= timeoutNanos) {
          fired = true;
          LOG.log(Level.WARNING, what + " made no progress for " + Duration.ofNanos(timeoutNanos)
              + " (storage.timeout); closing it so the caller can fail and retry");
          try {
            target.close();
          } catch (IOException e) {
            // closing is all we can do
          }
          return;
        }
        Thread.sleep(Duration.ofNanos(Math.max(1_000_000, timeoutNanos - idle)));
      }
    } catch (InterruptedException e) {
      // closed
    }
  }

  @Override
  public void close() {
    done = true;
    watcher.interrupt();
  }
}
