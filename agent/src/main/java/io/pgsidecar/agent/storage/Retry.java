package io.pgsidecar.agent.storage;

import io.pgsidecar.core.storage.ObjectExistsException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Bounds a storage call in time and in attempts (keys {@code storage.timeout} and
 * {@code storage.retries}), so that a hung network never blocks PostgreSQL's archive_command
 * forever: each attempt runs on its own thread and is interrupted when it overruns; a
 * failed attempt is retried after an exponential backoff. Outcomes that another attempt cannot
 * change ({@link ObjectExistsException}, a missing or unreadable local file) are not retried.
 *
 * <p>Attempts run on platform threads, not virtual ones: an attempt that stores a WAL segment
 * compresses it (zstd-jni, native) and hashes it on that thread for a few hundred milliseconds.
 * A virtual thread doing that pins its carrier, and with the look-ahead running several uploads
 * the few carriers (one per core) were all pinned, so the request of an archive_command that
 * could be answered at once waited for a free carrier: 95 ms p50 and 500 ms p99 on two cores
 * (bench/README.md). Platform threads are time-sliced by the kernel instead.
 */
public final class Retry implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(Retry.class.getName());

  private final Duration timeout;
  private final int retries;
  private final Duration firstBackoff;
  private final Duration maxBackoff;
  private final ExecutorService attempts =
      Executors.newCachedThreadPool(Thread.ofPlatform().name("storage-call-", 0).daemon().factory());

  public Retry(Duration timeout, int retries) {
    this(timeout, retries, Duration.ofMillis(200), Duration.ofSeconds(5));
  }

  public Retry(Duration timeout, int retries, Duration firstBackoff, Duration maxBackoff) {
    this.timeout = timeout;
    this.retries = Math.max(0, retries);
    this.firstBackoff = firstBackoff;
    this.maxBackoff = maxBackoff;
  }

  /**
   * Runs {@code call} up to {@code 1 + retries} times.
   *
   * @param what the operation and object, e.g. {@code "store wal/.../0003.zst"}, for messages
   * @throws IOException the last failure; a timeout is reported as an IOException naming
   *     {@code what} and the timeout
   */
  public <T> T call(String what, Callable<T> call) throws IOException {
    IOException last = null;
    Duration backoff = firstBackoff;
    for (int attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        LOG.log(Level.WARNING, "{0} failed (attempt {1} of {2}): {3}; retrying in {4} ms",
            new Object[] {what, attempt, retries + 1, last.getMessage(), backoff.toMillis()});
        sleep(backoff);
        backoff = backoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : backoff.multipliedBy(2);
      }
      try {
        return once(what, call);
      } catch (IOException e) {
        if (!retryable(e)) {
          throw e;
        }
        last = e;
      }
    }
    throw last;
  }

  private <T> T once(String what, Callable<T> call) throws IOException {
    Future<T> f = attempts.submit(call);
    try {
      return f.get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      throw new IOException(what + " did not finish within storage.timeout=" + timeout
          + "; the storage may be unreachable or slow (check the network and the storage"
          + " account), or raise storage.timeout");
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(what + " was interrupted");
    } catch (CancellationException e) {
      throw new InterruptedIOException(what + " was cancelled");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw io;
      }
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IOException(what + " failed: " + cause, cause);
    }
  }

  private static boolean retryable(IOException e) {
    return !(e instanceof ObjectExistsException
        || e instanceof NoSuchFileException
        || e instanceof AccessDeniedException
        || e instanceof InterruptedIOException);
  }

  private static void sleep(Duration d) throws InterruptedIOException {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting to retry");
    }
  }

  /** Interrupts attempts still running (after a shutdown grace has passed). */
  @Override
  public void close() {
    attempts.shutdownNow();
  }
}
