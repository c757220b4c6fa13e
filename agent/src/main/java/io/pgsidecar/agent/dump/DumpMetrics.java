package io.pgsidecar.agent.dump;

import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.metrics.BackupKind;
import io.pgsidecar.core.repo.DumpManifest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The meters of dumps ({@code pgsidecar_backup_*{kind="dump"}}), fed by the service's events, and
 * the last dump this agent finished (for {@code /v1/status}). A failed dump is also an error of
 * the status; a finished one makes the agent re-read the repository's gauges.
 */
public final class DumpMetrics implements DumpService.Listener {

  private final AgentMetrics metrics;
  private final FeatureContext.Events events;
  private final Clock clock;
  private volatile Map<String, Object> lastDump;

  public DumpMetrics(AgentMetrics metrics, FeatureContext.Events events, Clock clock) {
    this.metrics = metrics;
    this.events = events;
    this.clock = clock;
  }

  @Override
  public void started(DumpStatus status) {
    metrics.backupStarted(BackupKind.DUMP);
  }

  @Override
  public void succeeded(DumpManifest m, Duration took) {
    Instant end = clock.instant();
    metrics.backupSucceeded(BackupKind.DUMP, took, m.rawSize(), m.storedSize(), end);
    lastDump = dumpMap(m.id(), m.start(), end, "success", null);
    events.repositoryChanged();
  }

  @Override
  public void failed(DumpStatus.Failure f, Duration took) {
    Instant end = clock.instant();
    metrics.backupFailed(BackupKind.DUMP, end);
    lastDump = dumpMap(f.id(), Instant.parse(f.startTime()), end, "failure", f.message());
    events.error("dump " + f.id(), f.message());
    events.repositoryChanged();
  }

  /** The last dump this agent finished, or null. */
  public Map<String, Object> lastDump() {
    return lastDump;
  }

  /** The complete dumps of the repository: how many; at start, the newest as the last success. */
  void readRepository(java.util.List<DumpStatus> dumps, boolean atStart) {
    java.util.List<DumpManifest> complete = dumps.stream()
        .filter(s -> s.state() == DumpStatus.State.COMPLETE).map(DumpStatus::manifest).toList();
    metrics.retained(BackupKind.DUMP, complete.size());
    if (atStart && !complete.isEmpty()) {
      DumpManifest d = complete.getLast();
      metrics.backupLastSuccess(BackupKind.DUMP, d.stop(), Duration.between(d.start(), d.stop()),
          d.rawSize(), d.storedSize());
    }
  }

  /** Whether a schedule is set and when it runs next (null: never). */
  void schedule(boolean enabled, Instant nextRun) {
    metrics.schedule(BackupKind.DUMP, enabled, nextRun);
  }

  private static Map<String, Object> dumpMap(String id, Instant start, Instant end, String result,
      String error) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", id);
    m.put("result", result);
    m.put("startedAt", start.toString());
    m.put("finishedAt", end.toString());
    if (error != null) {
      m.put("error", error);
    }
    return m;
  }
}
