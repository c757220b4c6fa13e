package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.schedule.CronScheduler;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.Storage;
import io.vertx.ext.web.Router;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * Base backups as one piece for the agent to wire in: the service, its HTTP routes and the
 * schedule. In {@code Agent}:
 *
 * <pre>{@code
 * backups = BackupModule.create(config, storage, pipeline);
 * backups.register(router(), blockingExecutor());   // before the server starts
 * backups.startSchedule();                          // once PostgreSQL is up
 * status.put("backups", backups.service().status().toMap());
 * backups.close();                                  // on shutdown: cancels a running backup
 * }</pre>
 */
public final class BackupModule implements AutoCloseable {

  private final BackupService service;
  private final Optional<CronScheduler> scheduler;

  private BackupModule(BackupService service, Optional<CronScheduler> scheduler) {
    this.service = service;
    this.scheduler = scheduler;
  }

  /** @throws IllegalArgumentException when {@code schedule.base-backup} is not a cron expression */
  public static BackupModule create(PgsidecarConfig config, Storage storage,
      CodecPipeline pipeline) {
    BackupService service = BackupService.fromConfig(config, storage, pipeline);
    return new BackupModule(service, BackupScheduler.forConfig(config.schedule(), service));
  }

  public BackupService service() {
    return service;
  }

  public Optional<CronScheduler> scheduler() {
    return scheduler;
  }

  /** Adds the {@code /v1/backups} routes; {@code blocking} runs their storage calls. */
  public void register(Router router, Executor blocking) {
    new BackupRoutes(service, blocking).register(router);
  }

  /** Runs a missed backup (if any) and arms the timer; a no-op without a schedule. */
  public void startSchedule() {
    scheduler.ifPresent(CronScheduler::start);
  }

  @Override
  public void close() {
    scheduler.ifPresent(CronScheduler::close);
    service.close();
  }
}
