package io.pgsidecar.agent.retention;

import io.pgsidecar.agent.backup.BackupListener;
import io.pgsidecar.agent.backup.BackupResult;
import io.pgsidecar.agent.schedule.CronScheduler;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.ext.web.Router;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * Retention in the agent: the service, its routes, its meters, and when it runs: after each
 * successful base backup, and on {@code schedule.retention} when set; both only while a
 * {@code retention.*} rule is set (without one, nothing is ever removed and nothing runs).
 */
public final class RetentionFeature implements BackupListener, AutoCloseable {

  private final RetentionService service;
  private final Optional<CronScheduler> schedule;
  /** A restart is no missed run: the schedule's first run is its next time, not the start-up. */
  private final Instant createdAt = Instant.now();

  public RetentionFeature(PgsidecarConfig config, Storage storage, CodecPipeline pipeline,
      MeterRegistry registry) {
    this.service = new RetentionService(storage,
        new RepositoryLayout(config.storage().prefix(), config.cluster()), config.retention(),
        pipeline, Clock.systemUTC(), new RetentionMetrics(registry));
    this.schedule = config.schedule().retention().filter(s -> !s.isBlank())
        .filter(s -> config.retention().isSet())
        .map(expr -> new CronScheduler("retention", expr,
            CronScheduler.parse("schedule.retention", "30 4 * * *", expr), config.schedule().timezone(),
            Clock.systemUTC(), new CronScheduler.Target() {
              @Override
              public Optional<Instant> lastStart() {
                return Optional.of(service.lastRun().map(RetentionService.Run::started).orElse(createdAt));
              }

              @Override
              public String start(String label) {
                service.applyLater("schedule");
                return "retention";
              }
            }));
  }

  public RetentionService service() {
    return service;
  }

  public void register(Router router, Executor blocking) {
    new RetentionRoutes(service, blocking).register(router);
  }

  public void start() {
    schedule.ifPresent(CronScheduler::start);
  }

  /** After each successful base backup (the listener of the backup service). */
  @Override
  public void finished(BackupResult result) {
    if (result.success()) {
      service.applyLater("after base backup " + result.id());
    }
  }

  @Override
  public void close() {
    schedule.ifPresent(CronScheduler::close);
  }
}
