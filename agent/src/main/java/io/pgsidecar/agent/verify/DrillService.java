package io.pgsidecar.agent.verify;

import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.core.job.JobException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs restore drills one at a time on their own platform thread (a drill decodes and unpacks a
 * whole backup: CPU-bound work that would pin a virtual thread's carrier), feeds
 * {@link VerifyMetrics} and keeps the last outcome for {@code /v1/status}. A failed drill is an
 * error of the status too.
 */
final class DrillService implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(DrillService.class.getName());

  private final RestoreDrill drill;
  private final VerifyMetrics metrics;
  private final FeatureContext.Events events;
  private final Clock clock;
  private final AtomicReference<Thread> running = new AtomicReference<>();
  private volatile Map<String, Object> last = Map.of();
  private volatile Instant lastStart;

  DrillService(RestoreDrill drill, VerifyMetrics metrics, FeatureContext.Events events,
      Clock clock) {
    this.drill = drill;
    this.metrics = metrics;
    this.events = events;
    this.clock = clock;
  }

  /**
   * Starts a drill; returns a name for the log.
   *
   * @throws JobException CONFLICT while one runs
   */
  String start(String label) {
    Thread t = Thread.ofPlatform().name("restore-drill").daemon(true).unstarted(() -> run(label));
    if (!running.compareAndSet(null, t)) {
      throw JobException.conflict("a restore drill is running; one runs at a time");
    }
    lastStart = clock.instant();
    t.start();
    return "of " + lastStart; // "scheduled restore drill of <time> started"
  }

  /** Runs one drill on the calling thread and records it. */
  void run(String label) {
    Instant started = clock.instant();
    try {
      RestoreDrill.Result r = drill.run(wal -> metrics.walChecked(wal.missingSegments()));
      Duration took = Duration.between(started, clock.instant());
      metrics.succeeded(clock.instant(), took, r.windowSeconds());
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("result", "success");
      m.put("label", label);
      m.put("backup", r.backupId());
      m.put("startTime", started.toString());
      m.put("durationMillis", took.toMillis());
      m.put("steps", r.verification().stepsMillis());
      m.put("probe", r.verification().probe());
      m.put("windowStart", r.windowStart().toString());
      m.put("windowEnd", r.windowEnd().toString());
      m.put("windowSeconds", r.windowSeconds());
      m.put("walGaps", r.wal().problems());
      last = m;
      LOG.log(System.Logger.Level.INFO, () -> "restore drill of backup " + r.backupId()
          + " succeeded in " + took.toMillis() + " ms " + r.verification().stepsMillis()
          + "; recoverable window " + r.windowSeconds() + " s; WAL gaps: "
          + (r.wal().ok() ? "none" : String.join("; ", r.wal().problems())));
    } catch (RuntimeException e) {
      Duration took = Duration.between(started, clock.instant());
      metrics.failed(clock.instant(), took);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("result", "failure");
      m.put("label", label);
      m.put("startTime", started.toString());
      m.put("durationMillis", took.toMillis());
      m.put("error", e.getMessage());
      last = m;
      events.error("restore drill", e.getMessage());
      LOG.log(System.Logger.Level.ERROR, "restore drill failed: " + e.getMessage(), e);
    } finally {
      running.set(null);
    }
  }

  Optional<Instant> lastStart() {
    return Optional.ofNullable(lastStart);
  }

  Map<String, Object> status() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("running", running.get() != null);
    m.put("last", last);
    return m;
  }

  /** Interrupts a running drill (its scratch directory is removed as it unwinds). */
  @Override
  public void close() {
    Thread t = running.get();
    if (t != null) {
      t.interrupt();
    }
  }
}
