package io.pgsidecar.agent.retention;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.pgsidecar.core.retention.Plan;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Retention's meters (all {@code pgsidecar_retention_*}): runs by result, objects and bytes
 * removed by kind, when the last run and the last successful run ended, consecutive failures,
 * whether a policy is set, and what the last run kept, by kind and rule.
 */
public final class RetentionMetrics {

  private final MeterRegistry registry;
  private final Counter succeeded;
  private final Counter failed;
  private final Map<Plan.Subject, Counter> objects = new EnumMap<>(Plan.Subject.class);
  private final Map<Plan.Subject, Counter> bytes = new EnumMap<>(Plan.Subject.class);
  private final AtomicLong lastRun = new AtomicLong();
  private final AtomicLong lastSuccess = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong enabled = new AtomicLong();
  private final MultiGauge kept;

  public RetentionMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.succeeded = Counter.builder("pgsidecar_retention_runs").tag("result", "success")
        .description("Retention runs (not dry runs), by result").register(registry);
    this.failed = Counter.builder("pgsidecar_retention_runs").tag("result", "failure")
        .description("Retention runs (not dry runs), by result").register(registry);
    for (Plan.Subject s : Plan.Subject.values()) {
      objects.put(s, Counter.builder("pgsidecar_retention_removed_objects").tag("kind", s.label())
          .description("Objects retention removed, by the kind of item they belonged to").register(registry));
      bytes.put(s, Counter.builder("pgsidecar_retention_removed_bytes").baseUnit("bytes")
          .tag("kind", s.label()).description("Stored bytes retention removed, by kind").register(registry));
    }
    Gauge.builder("pgsidecar_retention_last_run_timestamp_seconds", lastRun, AtomicLong::get)
        .description("When the last retention run ended (success or failure), Unix time; 0 before the first")
        .register(registry);
    Gauge.builder("pgsidecar_retention_last_success_timestamp_seconds", lastSuccess, AtomicLong::get)
        .description("When the last successful retention run ended, Unix time; 0 before the first")
        .register(registry);
    Gauge.builder("pgsidecar_retention_consecutive_failures", failures, AtomicLong::get)
        .description("Retention runs failed in a row since the last success").register(registry);
    Gauge.builder("pgsidecar_retention_enabled", enabled, AtomicLong::get)
        .description("1 when a retention.* rule is set (retention runs), else 0").register(registry);
    this.kept = MultiGauge.builder("pgsidecar_retention_kept")
        .description("Items the last retention run kept, by kind and by the rule that kept them")
        .register(registry);
  }

  void enabled(boolean on) {
    enabled.set(on ? 1 : 0);
  }

  void removed(Plan.Subject subject, long storedBytes) {
    objects.get(subject).increment();
    bytes.get(subject).increment(storedBytes);
  }

  void succeeded(Instant at, Plan plan) {
    succeeded.increment();
    lastRun.set(at.getEpochSecond());
    lastSuccess.set(at.getEpochSecond());
    failures.set(0);
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    plan.keptCounts().forEach((subject, byRule) -> byRule.forEach((rule, n) ->
        rows.add(MultiGauge.Row.of(Tags.of("kind", subject.label(), "rule", rule.label()), n))));
    kept.register(rows, true);
  }

  void failed(Instant at) {
    failed.increment();
    lastRun.set(at.getEpochSecond());
    failures.incrementAndGet();
  }

  MeterRegistry registry() {
    return registry;
  }
}
