package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.feature.Feature;
import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.feature.ScheduledJob;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.schedule.CronScheduler;
import io.vertx.ext.web.Router;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Base backups: {@link BackupService} (pg_basebackup into storage), {@link BackupRoutes}
 * ({@code /v1/backups}), {@link BackupCommand} ({@code pgsidecar backup}), {@link BackupMetrics},
 * and the {@code schedule.base-backup} schedule ({@link BackupScheduler}). The running backup is
 * registered in {@link FeatureContext.RunningJobs} (dumps wait for it when overlap is off).
 */
public final class BackupFeature implements Feature {

  @Override
  public String name() {
    return "base backups";
  }

  @Override
  public List<Class<?>> commands() {
    return List.of(BackupCommand.class);
  }

  /** @throws IllegalArgumentException when {@code schedule.base-backup} is not a cron expression */
  @Override
  public Running open(FeatureContext context) {
    BackupService service = BackupService.fromConfig(context.config(), context.storage(),
        context.pipeline());
    BackupMetrics metrics = new BackupMetrics(context.metrics(), context.events());
    service.addListener(metrics);
    context.jobs().register(FeatureContext.RunningJobs.BASE_BACKUP,
        () -> service.running().map(RunningBackup::id));
    return new Parts(service, metrics, BackupScheduler.forConfig(context.config().schedule(), service));
  }

  private static final class Parts extends ScheduledJob {
    private final BackupService service;

    Parts(BackupService service, BackupMetrics metrics, Optional<CronScheduler> schedule) {
      super(schedule, metrics::schedule);
      this.service = service;
    }

    @Override
    public void adminRoutes(Router router, Blocking blocking) {
      new BackupRoutes(service, blocking).register(router);
    }

    @Override
    public Map<String, Object> status() {
      return Map.of("backups", service.status().toMap());
    }

    /** Cancels a running backup. */
    @Override
    protected void stop() {
      service.close();
    }
  }
}
