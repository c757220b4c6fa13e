package io.pgsidecar.bench;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.backup.BackupFeature;
import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.ConfigLoader;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.azure.AzureStorage;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * The agent with only WAL push and base backups wired in, for bench/backup.sh: the real Agent (WAL
 * push on its unix socket, reached by bin/wal-archiver from archive_command) plus the base backup
 * feature's /v1/backups routes, without dumps, schedules or a metrics port. Compiled by every {@code verify} of the
 * reactor (./scripts/test.sh), so a moved or changed agent class breaks the build. Runs until
 * SIGTERM.
 */
public class BackupAgent {
  public static void main(String[] args) throws Exception {
    PgsidecarConfig cfg = ConfigLoader.load(Optional.of(Path.of(args[0])), System.getenv());
    var storage = AzureStorage.open(cfg.storage());
    var pipeline = Pipelines.forConfig(cfg.compression(), cfg.encryption());
    var agent = new Agent(cfg, storage, pipeline);
    var backups = new BackupFeature().open(new FeatureContext(cfg, storage, pipeline,
        new AgentMetrics(cfg.cluster()), new FeatureContext.Events() {},
        new FeatureContext.RunningJobs()));
    backups.adminRoutes(agent.router(), new Blocking(agent.blockingExecutor()));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      backups.close();
      agent.close();
      try {
        storage.close();
      } catch (Exception e) {
        System.err.println("closing storage: " + e);
      }
      stopped.countDown();
    }));
    agent.start();
    System.err.println("bench agent started: " + storage.describe() + ", " + pipeline);
    stopped.await();
  }
}
