package io.pgsidecar.agent.verify;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The restore drill's meters (docs/metrics.md, "Verification"): when it last succeeded and
 * failed, how long the last one took, the recoverable window it measured, the WAL gap it found,
 * runs by result, and whether a drill is scheduled. The alert rules read them
 * ({@code PgsidecarRestoreDrillFailed}, {@code PgsidecarRestoreDrillMissing},
 * {@code PgsidecarWalGap}).
 */
public final class VerifyMetrics {

  private final AtomicLong lastSuccess = new AtomicLong();
  private final AtomicLong lastFailure = new AtomicLong();
  private final AtomicLong lastDurationMillis = new AtomicLong();
  private final AtomicLong windowSeconds = new AtomicLong();
  private final AtomicLong walGap = new AtomicLong();
  private final AtomicLong scheduled = new AtomicLong();
  private final Counter ok;
  private final Counter error;

  public VerifyMetrics(MeterRegistry registry) {
    gauge(registry, "pgsidecar.restore.drill.last.success.timestamp", "seconds",
        "When the last restore drill succeeded (0: none since start)", lastSuccess, 1);
    gauge(registry, "pgsidecar.restore.drill.last.failure.timestamp", "seconds",
        "When the last restore drill failed (0: none since start)", lastFailure, 1);
    gauge(registry, "pgsidecar.restore.drill.last.duration", "seconds",
        "How long the last restore drill took", lastDurationMillis, 1e-3);
    gauge(registry, "pgsidecar.restore.drill.window", "seconds",
        "Recoverable window the last drill measured: oldest backup start to newest archived WAL",
        windowSeconds, 1);
    gauge(registry, "pgsidecar.restore.drill.scheduled", null,
        "1 when schedule.verify is set, or once a drill run elsewhere (the chart's drill CronJob)"
            + " was recorded", scheduled, 1);
    gauge(registry, "pgsidecar.wal.gap.segments", null,
        "WAL segments missing from the archive at the last check (wal verify of the drill)",
        walGap, 1);
    ok = Counter.builder("pgsidecar.restore.drill.runs").tag("result", "ok")
        .description("Restore drills finished, by result").register(registry);
    error = Counter.builder("pgsidecar.restore.drill.runs").tag("result", "error")
        .description("Restore drills finished, by result").register(registry);
  }

  private static void gauge(MeterRegistry registry, String name, String unit, String help,
      AtomicLong value, double scale) {
    Gauge.Builder<AtomicLong> b = Gauge.builder(name, value, v -> v.get() * scale).description(help);
    if (unit != null) {
      b.baseUnit(unit);
    }
    b.register(registry);
  }

  public void scheduled(boolean on) {
    scheduled.set(on ? 1 : 0);
  }

  public void walChecked(long missingSegments) {
    walGap.set(missingSegments);
  }

  public void succeeded(Instant at, Duration took, long window) {
    lastSuccess.set(at.getEpochSecond());
    lastDurationMillis.set(took.toMillis());
    windowSeconds.set(window);
    ok.increment();
  }

  public void failed(Instant at, Duration took) {
    lastFailure.set(at.getEpochSecond());
    lastDurationMillis.set(took.toMillis());
    error.increment();
  }
}
