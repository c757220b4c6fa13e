package io.pgsidecar.agent.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;

/** The meters of one backup kind ({@code base} or {@code dump}), owned by {@link AgentMetrics}. */
final class BackupMeters {
  private final MeterRegistry registry;
  private final Tags tags;
  private final GaugeValue lastSuccess;
  private final GaugeValue lastFailure;
  private final GaugeValue lastDuration;
  private final GaugeValue lastRaw;
  private final GaugeValue lastStored;
  private final GaugeValue consecutiveFailures;
  final GaugeValue retained;
  private final GaugeValue running;
  final GaugeValue scheduleEnabled;
  final GaugeValue nextRun;
  private final Counter ok;
  private final Counter error;

  BackupMeters(MeterRegistry registry, BackupKind kind) {
    this.registry = registry;
    tags = Tags.of("kind", kind.label());
    lastSuccess = gauge(registry, "pgsidecar.backup.last.success.timestamp", "seconds",
        "When the last successful backup finished (0: none known)", tags);
    lastFailure = gauge(registry, "pgsidecar.backup.last.failure.timestamp", "seconds",
        "When the last backup failed (0: none since start)", tags);
    lastDuration = gauge(registry, "pgsidecar.backup.last.duration", "seconds",
        "How long the last successful backup took", tags);
    lastRaw = gauge(registry, "pgsidecar.backup.last.raw.size", "bytes",
        "Plain size of the last successful backup, before compression", tags);
    lastStored = gauge(registry, "pgsidecar.backup.last.stored.size", "bytes",
        "Stored size of the last successful backup, compressed and encrypted", tags);
    consecutiveFailures = gauge(registry, "pgsidecar.backup.consecutive.failures", null,
        "Backups failed in a row since the last success", tags);
    retained = gauge(registry, "pgsidecar.backup.retained", null,
        "Complete backups held in the repository", tags);
    running = gauge(registry, "pgsidecar.backup.running", null, "1 while a backup runs", tags);
    scheduleEnabled = gauge(registry, "pgsidecar.schedule.enabled", null,
        "1 when a schedule for this kind is configured", tags);
    nextRun = gauge(registry, "pgsidecar.schedule.next.run.timestamp", "seconds",
        "When the schedule fires next (0: not scheduled)", tags);
    ok = runCounter(Result.OK);
    error = runCounter(Result.ERROR);
  }

  private Counter runCounter(Result r) {
    return Counter.builder("pgsidecar.backup.runs").tags(tags).tag("result", r.label())
        .description("Backups finished, by result").register(registry);
  }

  void started() {
    running.set(1);
  }

  void succeeded(Duration took, long raw, long stored, double at) {
    seed(took, raw, stored, at);
    running.set(0);
    consecutiveFailures.set(0);
    ok.increment();
  }

  void seed(Duration took, long raw, long stored, double at) {
    lastSuccess.set(at);
    lastDuration.set(took.toMillis() / 1000.0);
    lastRaw.set(raw);
    lastStored.set(stored);
  }

  void failed(double at) {
    running.set(0);
    lastFailure.set(at);
    consecutiveFailures.set(consecutiveFailures.get() + 1);
    error.increment();
  }

  /** A gauge reading a {@link GaugeValue} the caller keeps, starting at 0. */
  static GaugeValue gauge(MeterRegistry registry, String name, String baseUnit, String description, Tags tags) {
    GaugeValue value = new GaugeValue(0);
    Gauge.builder(name, value, GaugeValue::get).baseUnit(baseUnit).description(description)
        .tags(tags).strongReference(true).register(registry);
    return value;
  }
}
