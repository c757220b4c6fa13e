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
                // a drill leaves nothing in storage: after a restart the next one waits for its time
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
    private final DrillService service;

    Parts(DrillService service, VerifyMetrics metrics, Optional<CronScheduler> schedule) {
      super(schedule, (enabled, next) -> metrics.scheduled(enabled));
      this.service = service;
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
