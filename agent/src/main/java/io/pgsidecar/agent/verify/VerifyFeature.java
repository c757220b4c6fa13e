package io.pgsidecar.agent.verify;

import io.pgsidecar.agent.feature.Feature;
import io.pgsidecar.agent.feature.FeatureContext;
import java.util.List;
import java.util.Map;

/**
 * Verification: {@code backup verify}, {@code dump verify} and {@code wal verify}
 * ({@link VerifyCommand}, added under the backup, dump and wal commands), and the scheduled
 * restore drill ({@code schedule.verify}: {@link RestoreDrill} on a {@link DrillScheduler}, its
 * meters in {@link VerifyMetrics}, its last result in {@code /v1/status}).
 */
public final class VerifyFeature implements Feature {

  @Override
  public String name() {
    return "verification";
  }

  @Override
  public List<Class<?>> commands() {
    return List.of(DrillCommand.class);
  }

  @Override
  public Map<String, List<Class<?>>> subcommands() {
    return Map.of("backup", List.of(VerifyCommand.Backup.class),
        "dump", List.of(VerifyCommand.Dump.class),
        "wal", List.of(VerifyCommand.Wal.class));
  }

  /**
   * @throws IllegalArgumentException when {@code schedule.verify} is not a cron expression, or
   *     when it is set and the programs a drill runs are not in {@code postgres.bin-dir} (the
   *     pgsidecar image has PostgreSQL's client programs only: the chart's drill CronJob runs
   *     drills in the postgres image instead)
   */
  @Override
  public Running open(FeatureContext context) {
    VerifyMetrics metrics = new VerifyMetrics(context.metrics().registry());
    VerifySettings settings = VerifySettings.of(context.config());
    var layout = new io.pgsidecar.core.repo.RepositoryLayout(context.config().storage().prefix(),
        context.config().cluster());
    RestoreDrill drill = new RestoreDrill(context.storage(), layout,
        new io.pgsidecar.core.verify.WalVerifier(context.storage(), layout, context.pipeline()),
        new BackupVerifier(context.storage(), layout, context.pipeline(), settings),
        java.time.Clock.systemUTC());
    if (context.config().schedule().verify().filter(s -> !s.isBlank()).isPresent()) {
      settings.programs().missing(Programs.DRILL).ifPresent(m -> {
        throw new IllegalArgumentException("schedule.verify is set but a restore drill cannot run"
            + " here: " + m + " (postgres.bin-dir, PGSIDECAR_POSTGRES_BIN_DIR); point"
            + " postgres.bin-dir at PostgreSQL's server programs, or remove schedule.verify and"
            + " run drills with the chart's drill CronJob (drill.enabled: true)");
      });
    }
    DrillService service = new DrillService(drill, metrics, context.events(),
        java.time.Clock.systemUTC(), java.util.Optional.of(new DrillRecords(context.storage(),
            layout)));
    return new DrillScheduler.Parts(service, metrics,
        DrillScheduler.forConfig(context.config().schedule(), service));
  }
}
