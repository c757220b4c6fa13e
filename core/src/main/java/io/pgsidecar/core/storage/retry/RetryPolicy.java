package io.pgsidecar.core.storage.retry;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * The one retry layer of storage calls. Before it, the agent's own retries ran around the Azure
 * SDK's (6 x 6 = 36 tries of one call, up to an hour against a dead account), so a push against
 * dead storage never answered and neither PostgreSQL's failure counter nor the WAL alert moved.
 * Now the SDK makes one try per request (bounded by {@code storage.timeout}) and this policy
 * retries the request: it is the only place that knows the operation class, the deadline and
 * the metric.
 *
 * <p>Each operation class has a deadline ({@code storage.retry.*-deadline}): attempts go on,
 * separated by a jittered exponential backoff (full jitter between half and all of the step,
 * {@code storage.retry.first-backoff} doubling up to {@code storage.retry.max-backoff}), until
 * one succeeds, one fails in a way another attempt cannot change ({@code retryable} says no),
 * or the next attempt would start past the deadline. A give-up is logged once, with the attempts
 * and the last error, and reported to the {@link GiveUps} listener (the agent counts it in
 * {@code pgsidecar_storage_retries_exhausted_total{operation}}); the retries on the way are
 * logged at FINE only.
 */
public final class RetryPolicy {

  private static final System.Logger LOG = System.getLogger(RetryPolicy.class.getName());

  /** What a call does; each class has its own deadline. */
  public enum Operation {
    /** A whole WAL push: look up, compress, encrypt, upload, until durable. */
    PUSH,
    /** A whole WAL fetch: look up and open. */
    FETCH,
    /** One staged block of a large object. */
    BLOCK,
    /** The commit of an object (block list, or the single request of a small object). */
    COMMIT,
    /** One read request: properties, a range of an object. */
    READ,
    /** Listing, deleting, probing. */
    LIST;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Told of every give-up, once per call that gave up. */
  @FunctionalInterface
  public interface GiveUps {
    void gaveUp(Operation operation, String what, int attempts, Duration elapsed, Throwable last);

    GiveUps NONE = (operation, what, attempts, elapsed, last) -> { };
  }

  /**
   * Deadlines, backoff and the most retries of one call; {@link #DEFAULTS} are the documented
   * defaults of the config keys ({@code storage.retries}, {@code storage.retry.*}).
   */
  public record Settings(Map<Operation, Duration> deadlines, Duration firstBackoff,
      Duration maxBackoff, int maxRetries) {

    public static final Settings DEFAULTS = new Settings(Map.of(
        Operation.PUSH, Duration.ofSeconds(60), Operation.FETCH, Duration.ofSeconds(120),
        Operation.BLOCK, Duration.ofSeconds(120), Operation.COMMIT, Duration.ofSeconds(60),
        Operation.READ, Duration.ofSeconds(60), Operation.LIST, Duration.ofSeconds(60)),
        Duration.ofSeconds(1), Duration.ofSeconds(15), 5);

    public Settings {
      deadlines = Map.copyOf(deadlines);
      for (Operation op : Operation.values()) {
        Objects.requireNonNull(deadlines.get(op), () -> "no deadline for " + op);
      }
    }

    public Duration deadline(Operation operation) {
      return deadlines.get(operation);
    }

    public Settings withMaxRetries(int retries) {
      return new Settings(deadlines, firstBackoff, maxBackoff, retries);
    }

    /** The same with every deadline and backoff replaced (tests that play outages fast). */
    public Settings with(Duration deadline, Duration firstBackoff, Duration maxBackoff) {
      Map<Operation, Duration> all = new java.util.EnumMap<>(Operation.class);
      for (Operation op : Operation.values()) {
        all.put(op, deadline);
      }
      return new Settings(all, firstBackoff, maxBackoff, maxRetries);
    }
  }

  private final Settings settings;
  private final GiveUps giveUps;

  public RetryPolicy(Settings settings, GiveUps giveUps) {
    this.settings = settings;
    this.giveUps = giveUps;
  }

  /** The defaults, give-ups only logged (tests, tools that build their own driver). */
  public static RetryPolicy defaults() {
    return new RetryPolicy(Settings.DEFAULTS, GiveUps.NONE);
  }

  public Settings settings() {
    return settings;
  }

  /** The same deadlines and backoff, give-ups reported to {@code listener} as well. */
  public RetryPolicy reportingTo(GiveUps listener) {
    return new RetryPolicy(settings, (op, what, attempts, elapsed, last) -> {
      giveUps.gaveUp(op, what, attempts, elapsed, last);
      listener.gaveUp(op, what, attempts, elapsed, last);
    });
  }

  /**
   * Runs {@code call} until it succeeds, fails for good, or the deadline of {@code operation}
   * has passed. Exceptions are rethrown as they came (the last one on a give-up).
   *
   * @param what the operation and object for the log line, e.g. {@code "commit of wal/...zst"}
   * @param retryable whether another attempt may change the outcome of a failure
   */
  public <T> T call(Operation operation, String what, Callable<T> call,
      Predicate<Throwable> retryable) throws IOException {
    long start = System.nanoTime();
    long deadline = start + settings.deadline(operation).toNanos();
    Duration step = settings.firstBackoff();
    for (int attempt = 1; ; attempt++) {
      try {
        return call.call();
      } catch (Exception e) {
        if (!retryable.test(e) || Thread.currentThread().isInterrupted()) {
          throw rethrow(e);
        }
        long pause = jitter(step);
        if (attempt > settings.maxRetries() || System.nanoTime() + pause * 1_000_000L >= deadline) {
          Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
          LOG.log(System.Logger.Level.WARNING, "{0} gave up after {1} attempts in {2} ms"
              + " (storage.retries={3}, storage.retry.{4}-deadline={5} s): {6}", new Object[] {what, attempt,
                  elapsed.toMillis(), settings.maxRetries(), operation.label(),
                  settings.deadline(operation).toSeconds(), e.getMessage()});
          giveUps.gaveUp(operation, what, attempt, elapsed, e);
          throw rethrow(e);
        }
        LOG.log(System.Logger.Level.DEBUG, "{0} failed (attempt {1}): {2}; retrying in {3} ms",
            new Object[] {what, attempt, e.getMessage(), pause});
        sleep(pause, what);
        step = step.multipliedBy(2).compareTo(settings.maxBackoff()) > 0
            ? settings.maxBackoff() : step.multipliedBy(2);
      }
    }
  }

  /** Between half and all of {@code step}, so that many clients do not retry in lockstep. */
  static long jitter(Duration step) {
    long ms = Math.max(1, step.toMillis());
    return ms / 2 + ThreadLocalRandom.current().nextLong(ms - ms / 2 + 1);
  }

  private static IOException rethrow(Exception e) {
    if (e instanceof IOException io) {
      return io;
    }
    if (e instanceof RuntimeException re) {
      throw re;
    }
    return new IOException(e.getMessage(), e);
  }

  private static void sleep(long ms, String what) throws InterruptedIOException {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(what + " was interrupted while waiting to retry");
    }
  }
}
