package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.metrics.BackupKind;
import java.time.Instant;

/**
 * The meters of base backups ({@code pgsidecar_backup_*{kind="base"}}), fed by the service's
 * events: running, last success or failure with duration and sizes, consecutive failures, and
 * the schedule. A failed backup is also an error of {@code /v1/status}; a finished one makes the
 * agent re-read the repository's gauges (retained backups, recoverable window).
 */
public final class BackupMetrics implements BackupListener {

  private final AgentMetrics metrics;
  private final FeatureContext.Events events;

  public BackupMetrics(AgentMetrics metrics, FeatureContext.Events events) {
    this.metrics = metrics;
    this.events = events;
  }

  @Override
  public void started(RunningBackup backup) {
    metrics.backupStarted(BackupKind.BASE);
  }

  @Override
  public void finished(BackupResult r) {
    if (r.success()) {
      metrics.backupSucceeded(BackupKind.BASE, r.duration(), r.rawBytes(), r.storedBytes(),
          r.finishedAt());
    } else {
      metrics.backupFailed(BackupKind.BASE, r.finishedAt());
      events.error("base backup " + r.id(), r.error().orElse("failed"));
    }
    events.repositoryChanged();
  }

  /** Whether a schedule is set and when it runs next (null: never). */
  void schedule(boolean enabled, Instant nextRun) {
    metrics.schedule(BackupKind.BASE, enabled, nextRun);
  }
}
