package io.pgsidecar.agent.dump;

import com.cronutils.model.time.ExecutionTime;
import io.pgsidecar.agent.schedule.CronScheduler;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The dump schedule ({@code schedule.dump}, e.g. {@code 0 3 1 * *}) on the shared
 * {@link CronScheduler}, independent of base backups.
 */
public final class DumpScheduler {

  private DumpScheduler() {}

  /** The scheduler of {@code schedule.dump}, or empty when none is configured. */
  public static Optional<CronScheduler> forConfig(PgsidecarConfig.Schedule config,
      DumpService service) {
    return config.dump().filter(s -> !s.isBlank()).map(expr ->
        new CronScheduler("dump", expr, parse(expr), config.timezone(), Clock.systemUTC(),
            new CronScheduler.Target() {
              @Override
              public Optional<Instant> lastStart() throws IOException {
                return service.list().stream()
                    .filter(s -> s.state() == DumpStatus.State.COMPLETE)
                    .map(s -> s.manifest().start()).max(Instant::compareTo);
              }

              @Override
              public String start(String label) throws IOException {
                return service.start(List.of(), label).status().id();
              }
            }));
  }

  /** @throws IllegalArgumentException naming {@code schedule.dump} and what is wrong */
  static ExecutionTime parse(String expression) {
    return CronScheduler.parse("schedule.dump", "0 3 1 * *", expression);
  }
}
