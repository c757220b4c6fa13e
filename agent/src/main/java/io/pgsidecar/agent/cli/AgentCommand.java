package io.pgsidecar.agent.cli;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.core.storage.fs.FsStorage;
import java.io.UncheckedIOException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar agent}: runs the sidecar daemon until SIGTERM/SIGINT, then shuts it down
 * gracefully (pushes under way finish within {@code http.shutdownGrace}). The root command loads
 * the configuration ({@code --config FILE} plus environment) and hands it over with the factories
 * that open the storage and build the codec pipeline from it.
 */
@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "Run the sidecar daemon: WAL push/fetch on the agent's unix socket.")
public final class AgentCommand implements Callable<Integer> {

  private static final Logger LOG = Logger.getLogger(AgentCommand.class.getName());

  private final Supplier<PgsidecarConfig> config;
  private final Function<PgsidecarConfig, Storage> storage;
  private final Function<PgsidecarConfig, CodecPipeline> pipeline;

  @Spec CommandSpec spec;

  /**
   * As registered in {@link Main#COMMANDS}: the configuration of the root command, the storage
   * of {@code storage.type}, the pipeline of {@code compression} and {@code encryption}.
   */
  public AgentCommand() {
    this.config = () -> Main.of(spec).config();
    this.storage = AgentCommand::openStorage;
    this.pipeline = cfg -> Pipelines.forConfig(cfg.compression(), cfg.encryption());
  }

  /**
   * @param config the loaded configuration (called once, when the command runs)
   * @param storage opens the configured storage
   * @param pipeline builds the configured codec pipeline (compression, encryption)
   */
  public AgentCommand(Supplier<PgsidecarConfig> config, Function<PgsidecarConfig, Storage> storage,
      Function<PgsidecarConfig, CodecPipeline> pipeline) {
    this.config = config;
    this.storage = storage;
    this.pipeline = pipeline;
  }

  private static Storage openStorage(PgsidecarConfig cfg) {
    return switch (cfg.storage().type()) {
      case FS -> new FsStorage(cfg.storage().path().orElseThrow(() -> new IllegalArgumentException(
          "storage.type is fs but storage.path is not set: set it to the repository directory")));
      case AZURE -> {
        try {
          yield AzureStorage.open(cfg.storage());
        } catch (StorageException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
  }

  @Override
  public Integer call() throws Exception {
    PgsidecarConfig cfg = config.get();
    Storage store = storage.apply(cfg);
    Agent agent = new Agent(cfg, store, pipeline.apply(cfg));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("agent-shutdown").unstarted(() -> {
      LOG.info("signal received: shutting down (grace " + cfg.http().shutdownGrace() + ")");
      try {
        agent.close();
        store.close();
      } catch (Exception e) {
        LOG.warning("shutdown: " + e.getMessage());
      } finally {
        stopped.countDown();
      }
    }));
    agent.start();
    LOG.info("agent started for cluster " + cfg.cluster() + ", PGDATA " + cfg.pgdata()
        + ", storage " + store.describe());
    stopped.await();
    return 0;
  }
}
