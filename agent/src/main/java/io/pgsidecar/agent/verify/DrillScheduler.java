package io.pgsidecar.agent.verify;

import com.cronutils.model.time.ExecutionTime;
import io.pgsidecar.agent.feature.ScheduledJob;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.schedule.CronScheduler;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.vertx.ext.web.Router;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/** The restore drill's schedule ({@code schedule.verify}) on the shared {@link CronScheduler}. */
final class DrillScheduler {

  private DrillScheduler() {}

  /** The scheduler of {@code schedule.verify}, or empty when no drill is scheduled. */
  static Optional<CronScheduler> forConfig(PgsidecarConfig.Schedule config, DrillService service) {
    return config.verify().filter(s -> !s.isBlank()).map(expr ->
        new CronScheduler("restore drill", expr, parse(expr), config.timezone(), Clock.systemUTC(),
            new CronScheduler.Target() {
              @Override
              public Optional<Instant> lastStart() {
                // the newest drill record's start (read at start-up), else none yet: the next one
                // waits for its time
                return Optional.of(service.lastStart().orElse(Clock.systemUTC().instant()));
              }

              @Override
              public String start(String label) {
                return service.start(label);
              }
            }));
  }

  /** @throws IllegalArgumentException naming {@code schedule.verify} and what is wrong */
  static ExecutionTime parse(String expression) {
    return CronScheduler.parse("schedule.verify", "0 3 * * 0", expression);
  }

  /** The running part: the schedule, the drill's status, and the route that starts one. */
  static final class Parts extends ScheduledJob {
    static final java.time.Duration RECORDS_EVERY = java.time.Duration.ofMinutes(1);

    private final DrillService service;

    Parts(DrillService service, VerifyMetrics metrics, Optional<CronScheduler> schedule) {
      super(schedule, (enabled, next) -> {
        // drills run by the chart's CronJob count as scheduled once one was recorded; their
        // records are read every minute (the Job is gone before Prometheus could scrape it)
        metrics.scheduled(enabled || service.jobDrills());
        service.readRecordsIfDue(RECORDS_EVERY);
      });
      this.service = service;
    }

    @Override
    public void readRepository(boolean atStart) throws java.io.IOException {
      service.readRecords();
    }

    @Override
    public void adminRoutes(Router router, Blocking blocking) {
      new VerifyRoutes(service, blocking).register(router);
    }

    @Override
    public Map<String, Object> status() {
      return Map.of("restoreDrill", service.status());
    }

    @Override
    protected void stop() {
      service.close();
    }
  }
}
