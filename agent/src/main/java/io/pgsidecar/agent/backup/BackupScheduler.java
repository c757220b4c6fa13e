package io.pgsidecar.agent.backup;

import com.cronutils.model.time.ExecutionTime;
import io.pgsidecar.agent.schedule.CronScheduler;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.Optional;

/** The base-backup schedule ({@code schedule.base-backup}) on the shared {@link CronScheduler}. */
public final class BackupScheduler {

  private BackupScheduler() {}

  /** The scheduler of {@code schedule.base-backup}, or empty when no schedule is configured. */
  public static Optional<CronScheduler> forConfig(PgsidecarConfig.Schedule config,
      BackupService service) {
    return config.baseBackup().filter(s -> !s.isBlank()).map(expr -> {
      var scheduler = new CronScheduler("base backup", expr, parse(expr), config.timezone(),
          Clock.systemUTC(), new CronScheduler.Target() {
            @Override
            public Optional<Instant> lastStart() throws IOException {
              return service.list().stream().map(BackupManifest::startTime)
                  .max(Comparator.naturalOrder());
            }

            @Override
            public String start(String label) throws IOException {
              return service.start(label).id();
            }
          });
      service.nextScheduledRunFrom(scheduler::nextRun);
      return scheduler;
    });
  }

  /** @throws IllegalArgumentException naming {@code schedule.base-backup} and what is wrong */
  public static ExecutionTime parse(String expression) {
    return CronScheduler.parse("schedule.base-backup", "0 1 * * *", expression);
  }
}
