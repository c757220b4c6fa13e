package io.pgsidecar.agent.feature;

import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.Storage;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * What every feature gets from the agent: the configuration, the (instrumented) storage, the
 * codec pipeline, the metrics registry, where its errors and finished jobs are reported, and the
 * jobs that are running (a dump does not start while a base backup runs, when overlap is off).
 * Features never reach each other directly: they meet here.
 */
public record FeatureContext(PgsidecarConfig config, Storage storage, CodecPipeline pipeline,
    AgentMetrics metrics, Events events, RunningJobs jobs) {

  /** Where features report what the agent's status and metrics show. */
  public interface Events {

    /** An error for {@code /v1/status}'s list of the last errors. */
    default void error(String operation, String message) {}

    /** A job changed the repository (a backup or dump finished): re-read its gauges later. */
    default void repositoryChanged() {}
  }

  /** The id of the running job of each kind, as features register them. */
  public static final class RunningJobs {

    /** The running base backup (registered by the base backup feature). */
    public static final String BASE_BACKUP = "base backup";

    /** The running dump (registered by the dump feature). */
    public static final String DUMP = "dump";

    private final Map<String, Supplier<Optional<String>>> jobs = new ConcurrentHashMap<>();

    /** Registers where the running job of {@code kind} (e.g. {@code "base backup"}) is seen. */
    public void register(String kind, Supplier<Optional<String>> runningId) {
      jobs.put(kind, runningId);
    }

    /** The running job of {@code kind}, or empty (also when no feature registered it). */
    public Optional<String> running(String kind) {
      return jobs.getOrDefault(kind, Optional::empty).get();
    }
  }
}
