package io.pgsidecar.agent.verify;

import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.core.job.JobException;
import java.io.IOException;
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
  private final Optional<DrillRecords> records;
  private volatile Map<String, Object> last = Map.of();
  private volatile Instant lastStart;
  private volatile Instant lastFinish = Instant.EPOCH;
  private volatile String lastKey = "";
  private volatile boolean jobDrills;
  private volatile RuntimeException lastError;
  private volatile String by = "agent";
  private volatile Instant lastRead = Instant.EPOCH;
  private final java.util.concurrent.atomic.AtomicBoolean reading =
      new java.util.concurrent.atomic.AtomicBoolean();

  DrillService(RestoreDrill drill, VerifyMetrics metrics, FeatureContext.Events events,
      Clock clock) {
    this(drill, metrics, events, clock, Optional.empty());
  }

  /** @param records where each drill's result is stored, and drills run elsewhere are read */
  DrillService(RestoreDrill drill, VerifyMetrics metrics, FeatureContext.Events events,
      Clock clock, Optional<DrillRecords> records) {
    this.drill = drill;
    this.metrics = metrics;
    this.events = events;
    this.clock = clock;
    this.records = records;
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
    lastError = null;
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
      m.put("walMissingSegments", r.wal().missingSegments());
      record(m, started);
      LOG.log(System.Logger.Level.INFO, () -> "restore drill of backup " + r.backupId()
          + " succeeded in " + took.toMillis() + " ms " + r.verification().stepsMillis()
          + "; recoverable window " + r.windowSeconds() + " s; WAL gaps: "
          + (r.wal().ok() ? "none" : String.join("; ", r.wal().problems())));
    } catch (RuntimeException e) {
      lastError = e;
      Duration took = Duration.between(started, clock.instant());
      metrics.failed(clock.instant(), took);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("result", "failure");
      m.put("label", label);
      m.put("startTime", started.toString());
      m.put("durationMillis", took.toMillis());
      m.put("error", e.getMessage());
      record(m, started);
      events.error("restore drill", e.getMessage());
      LOG.log(System.Logger.Level.ERROR, "restore drill failed: " + e.getMessage(), e);
    } finally {
      running.set(null);
    }
  }

  /** Keeps {@code m} as the last outcome and stores it as a drill record (best effort). */
  private void record(Map<String, Object> m, Instant started) {
    Instant finished = clock.instant();
    m.put("finishTime", finished.toString());
    m.put("by", by);
    lastFinish = finished;
    records.ifPresent(r -> {
      try {
        String key = r.write(started, m);
        lastKey = key;
        m.put("record", key);
      } catch (IOException | RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "cannot store the restore drill's record under "
            + r.root() + ": " + e.getMessage() + "; the drill's result stands, only a restart"
            + " forgets it");
      }
    });
    last = m;
  }

  /**
   * Reads the newest drill record from storage and takes it over when it is newer than what
   * this agent knows: a drill run by the chart's CronJob ({@code pgsidecar drill}) sets the same
   * meters and status as one run here.
   */
  void readRecords() throws IOException {
    if (records.isEmpty()) {
      return;
    }
    lastRead = clock.instant();
    Optional<DrillRecords.Stored> newest = records.get().newest();
    if (newest.isEmpty() || newest.get().key().equals(lastKey)) {
      return;
    }
    DrillRecords.Stored s = newest.get();
    if ("job".equals(s.fields().get("by"))) {
      jobDrills = true;
      metrics.scheduled(true); // now, not at the next housekeeping tick
    }
    if (!s.finishTime().isAfter(lastFinish)) {
      return;
    }
    lastKey = s.key();
    if (lastStart == null && s.fields().get("startTime") != null) {
      lastStart = Instant.parse(s.fields().get("startTime").toString());
    }
    lastFinish = s.finishTime();
    long millis = s.fields().get("durationMillis") instanceof Number n ? n.longValue() : 0;
    if (s.success()) {
      long window = s.fields().get("windowSeconds") instanceof Number n ? n.longValue() : 0;
      metrics.succeeded(s.finishTime(), Duration.ofMillis(millis), window);
    } else {
      metrics.failed(s.finishTime(), Duration.ofMillis(millis));
    }
    if (s.fields().get("walGaps") instanceof java.util.List<?> gaps) {
      metrics.walChecked(s.fields().get("walMissingSegments") instanceof Number n ? n.longValue()
          : gaps.size());
    }
    Map<String, Object> m = new LinkedHashMap<>(s.fields());
    m.put("record", s.key());
    last = m;
  }

  /** Reads the records again on a virtual thread when the last read is {@code every} old. */
  void readRecordsIfDue(Duration every) {
    if (records.isEmpty() || clock.instant().isBefore(lastRead.plus(every))
        || !reading.compareAndSet(false, true)) {
      return;
    }
    Thread.ofVirtual().name("restore-drill-records").start(() -> {
      try {
        readRecords();
      } catch (IOException | RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "cannot read the restore drill records under "
            + records.get().root() + ": " + e.getMessage());
      } finally {
        reading.set(false);
      }
    });
  }

  /** Who runs the drills, in their records: {@code agent} (default) or {@code job}. */
  DrillService by(String who) {
    this.by = who;
    return this;
  }

  /** The last drill's error, or empty when it succeeded (or none ran). */
  Optional<RuntimeException> lastError() {
    return Optional.ofNullable(lastError);
  }

  /** Whether a drill run by the chart's CronJob was recorded: drills are expected from then on. */
  boolean jobDrills() {
    return jobDrills;
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
