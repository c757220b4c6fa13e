package io.pgsidecar.agent.cli;

import java.lang.System.Logger.Level;
import io.pgsidecar.agent.Sidecar;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar agent}: runs the sidecar daemon ({@link Sidecar}: WAL push/fetch, backups,
 * dumps, status on the unix socket; metrics and probes on the metrics port) until SIGTERM/SIGINT,
 * then shuts it down gracefully (pushes under way finish within {@code http.shutdown-grace}).
 */
@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "Run the sidecar daemon: WAL push/fetch, base backups, dumps and status on the"
        + " agent's unix socket; /metrics, /healthz and /readyz on metrics.port.")
public final class AgentCommand implements Callable<Integer> {

  private static final System.Logger LOG = System.getLogger(AgentCommand.class.getName());

  @Spec
  CommandSpec spec;

  private final Supplier<PgsidecarConfig> config;

  /** The production wiring: the configuration of the root command. */
  public AgentCommand() {
    this.config = () -> Main.of(spec).config();
  }

  /** @param config the loaded configuration (called once, when the command runs) */
  public AgentCommand(Supplier<PgsidecarConfig> config) {
    this.config = config;
  }

  private PrintWriter err() {
    return spec != null ? spec.commandLine().getErr() : new PrintWriter(System.err, true);
  }

  @Override
  public Integer call() throws Exception {
    PgsidecarConfig cfg = config.get();
    if (cfg.log().json()) {
      JsonLogFormat.install();
    }
    List<String> problems = StartChecks.problems(cfg);
    if (!problems.isEmpty()) {
      problems.forEach(p -> err().println("pgsidecar agent: " + p));
      err().flush();
      return ExitCodes.USAGE;
    }
    Sidecar sidecar = Sidecar.open(cfg);
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook = Thread.ofPlatform().name("agent-shutdown").unstarted(() -> {
      LOG.log(Level.INFO, "signal received: shutting down (grace " + cfg.http().shutdownGrace() + ")");
      try {
        sidecar.close();
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "shutdown: " + e.getMessage());
      } finally {
        stopped.countDown();
      }
    });
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      sidecar.start();
    } catch (IOException e) {
      Optional<String> line = StartChecks.bindProblem(cfg, e);
      if (line.isEmpty()) {
        throw e;
      }
      Runtime.getRuntime().removeShutdownHook(hook);
      sidecar.close();
      err().println("pgsidecar agent: " + line.get());
      err().flush();
      return ExitCodes.USAGE;
    }
    LOG.log(Level.INFO, "agent started for cluster " + cfg.cluster() + ", PGDATA " + cfg.pgdata()
        + ", socket " + cfg.socket());
    stopped.await();
    return 0;
  }
}
