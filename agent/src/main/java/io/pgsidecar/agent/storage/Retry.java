package io.pgsidecar.agent.storage;

import io.pgsidecar.core.job.Causes;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.retry.RetryPolicy.Operation;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The deadline of a storage call made for PostgreSQL (a WAL push or fetch,
 * {@code storage.retry.push-deadline} and {@code fetch-deadline}), so that a hung or dead storage
 * never blocks archive_command or restore_command for long: PostgreSQL sees the failure, counts
 * it in pg_stat_archiver, and the WAL alert moves. It does not retry: the storage driver's
 * {@link RetryPolicy} is the one retry layer (this class used to retry around the Azure SDK's
 * own retries, up to 36 tries of one call, and a push against dead storage answered nothing
 * for many minutes). A call past its deadline is interrupted, logged once and reported to
 * {@link RetryPolicy.GiveUps} like any other give-up.
 *
 * <p>Calls run on platform threads, not virtual ones: a call that stores a WAL segment
 * compresses it (zstd-jni, native) and hashes it on that thread for a few hundred milliseconds.
 * A virtual thread doing that pins its carrier, and with the look-ahead running several uploads
 * the few carriers (one per core) were all pinned, so the request of an archive_command that
 * could be answered at once waited for a free carrier: 95 ms p50 and 500 ms p99 on two cores
 * (bench/README.md). Platform threads are time-sliced by the kernel instead.
 */
public final class Retry implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(Retry.class.getName());

  private final Operation operation;
  private final RetryPolicy.Settings settings;
  private final RetryPolicy.GiveUps giveUps;
  private final ExecutorService calls;

  /** Every operation class bounded by {@code deadline} (tests). */
  public Retry(Duration deadline) {
    this(RetryPolicy.Settings.DEFAULTS.with(deadline, Duration.ofMillis(1), Duration.ofMillis(1)),
        RetryPolicy.GiveUps.NONE);
  }

  /** The deadlines of {@code settings}, give-ups reported to {@code giveUps}; push by default. */
  public Retry(RetryPolicy.Settings settings, RetryPolicy.GiveUps giveUps) {
    this(Operation.PUSH, settings, giveUps, Executors.newCachedThreadPool(
        Thread.ofPlatform().name("storage-call-", 0).daemon().factory()));
  }

  private Retry(Operation operation, RetryPolicy.Settings settings, RetryPolicy.GiveUps giveUps,
      ExecutorService calls) {
    this.operation = operation;
    this.settings = settings;
    this.giveUps = giveUps;
    this.calls = calls;
  }

  /** The same threads, with the deadline of {@code op} (e.g. fetch for the WAL fetch service). */
  public Retry forOperation(Operation op) {
    return new Retry(op, settings, giveUps, calls);
  }

  /**
   * Runs {@code call} once, bounded by this operation's deadline.
   *
   * @param what the operation and object, e.g. {@code "store wal/.../0003.zst"}, for messages
   * @throws IOException what the call threw, or one naming {@code what} and the deadline
   */
  public <T> T call(String what, Callable<T> call) throws IOException {
    long start = System.nanoTime();
    Duration deadline = settings.deadline(operation);
    Future<T> f = calls.submit(call);
    try {
      return f.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      String key = "storage.retry." + operation.label() + "-deadline";
      var error = new StorageException(what + " did not finish within " + key + "=" + deadline
          + ": the storage is unreachable or too slow (check the network and the storage"
          + " account), or raise " + key);
      LOG.log(Level.WARNING, error.getMessage());
      giveUps.gaveUp(operation, what, 1, Duration.ofNanos(System.nanoTime() - start), error);
      throw error;
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(what + " was interrupted");
    } catch (CancellationException e) {
      throw new InterruptedIOException(what + " was cancelled");
    } catch (ExecutionException e) {
      Throwable cause = Causes.rethrow(e);
      throw new StorageException(what + " failed: " + cause, cause);
    }
  }

  /** Interrupts calls still running (after a shutdown grace has passed). */
  @Override
  public void close() {
    calls.shutdownNow();
  }
}
