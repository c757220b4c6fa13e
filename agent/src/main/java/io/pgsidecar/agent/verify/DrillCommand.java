package io.pgsidecar.agent.verify;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgsidecar.agent.cli.support.CommandContext;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.agent.cli.support.OutputOption;
import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.factory.StorageFactory;
import io.pgsidecar.core.verify.WalVerifier;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar drill}: one restore drill in this process, what {@code schedule.verify} runs
 * in the agent, for the chart's drill CronJob (the postgres image has the server programs the
 * pgsidecar image lacks). Its result is stored as a drill record (drills/ in the cluster's
 * repository), which the agent reads for its meters, alerts and status. Exit codes as
 * {@code backup verify}: 0 the newest backup restored to consistency, 5 it is damaged, 4 no
 * backup, 3 storage cannot be read, 2 usage or configuration, 1 the drill could not run.
 */
@Command(name = "drill", mixinStandardHelpOptions = true,
    description = "Run one restore drill here: wal verify, the newest base backup verified and"
        + " restored to a scratch directory (verify.work-dir), started to consistency with its"
        + " WAL, the probe query answered, the recoverable window measured. The result is stored"
        + " under drills/ in the repository, where the agent reads it for its metrics and status."
        + " Needs PostgreSQL's server programs in postgres.bin-dir.")
public final class DrillCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Mixin OutputOption output;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      PgsidecarConfig config = CommandContext.of(spec).config();
      RepositoryLayout layout = new RepositoryLayout(config.storage().prefix(), config.cluster());
      CodecPipeline pipeline = Pipelines.forConfig(config.compression(), config.encryption());
      VerifySettings settings = VerifySettings.of(config);
      Optional<String> missing = settings.programs().missing(Programs.DRILL);
      if (missing.isPresent()) {
        err.println("pgsidecar drill: " + missing.get() + " (postgres.bin-dir,"
            + " PGSIDECAR_POSTGRES_BIN_DIR); run the drill where PostgreSQL's server programs are,"
            + " e.g. in the postgres image (the chart's drill CronJob)");
        return ExitCodes.USAGE;
      }
      try (Storage storage = StorageFactory.open(config.storage())) {
        RestoreDrill drill = new RestoreDrill(storage, layout,
            new WalVerifier(storage, layout, pipeline),
            new BackupVerifier(storage, layout, pipeline, settings), Clock.systemUTC());
        DrillService service = new DrillService(drill,
            new VerifyMetrics(new SimpleMeterRegistry()), new FeatureContext.Events() {},
            Clock.systemUTC(), Optional.of(new DrillRecords(storage, layout))).by("job");
        service.run("job");
        @SuppressWarnings("unchecked")
        Map<String, Object> last = (Map<String, Object>) service.status().get("last");
        if (output.json()) {
          out.println(VerifyCommand.toJson(last));
        } else if ("success".equals(last.get("result"))) {
          out.println("restore drill of backup " + last.get("backup") + " succeeded in "
              + last.get("durationMillis") + " ms " + last.get("steps") + "; probe: "
              + last.get("probe") + "; recoverable window " + last.get("windowSeconds")
              + " s (" + last.get("windowStart") + " .. " + last.get("windowEnd") + ")");
          out.println("WAL gaps: " + (((java.util.List<?>) last.get("walGaps")).isEmpty() ? "none"
              : last.get("walGaps")));
          out.println("recorded: " + last.getOrDefault("record", "NOT STORED (see the log)"));
        }
        if (service.lastError().isPresent()) {
          err.println("pgsidecar drill: " + service.lastError().get().getMessage());
          return ExitCodes.of(service.lastError().get());
        }
        return last.containsKey("record") ? ExitCodes.OK : ExitCodes.UNAVAILABLE;
      }
    } catch (Exception e) {
      err.println("pgsidecar drill: " + e.getMessage());
      return ExitCodes.of(e);
    } finally {
      out.flush();
      err.flush();
    }
  }
}
