package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.metrics.BackupKind;
import io.pgsidecar.agent.schedule.CronScheduler;
import java.util.Optional;

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

  /** Whether a schedule is set and when it runs next. */
  void schedule(Optional<CronScheduler> scheduler) {
    metrics.schedule(BackupKind.BASE, scheduler.isPresent(),
        scheduler.flatMap(CronScheduler::nextRun).orElse(null));
  }
}
