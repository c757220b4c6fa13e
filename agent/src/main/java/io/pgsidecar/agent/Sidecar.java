package io.pgsidecar.agent;

import java.lang.System.Logger.Level;
import io.pgsidecar.agent.feature.Feature;
import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.http.CachedCheck;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.metrics.InstrumentedStorage;
import io.pgsidecar.agent.metrics.MetricsServer;
import io.pgsidecar.agent.metrics.PgStatArchiverPoller;
import io.pgsidecar.agent.status.AgentActivity;
import io.pgsidecar.agent.status.RepositoryGauges;
import io.pgsidecar.agent.status.StatusRoutes;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageFactory;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The whole agent put together from a configuration, in one place so that {@link Agent} stays the
 * HTTP host and each service stays unaware of the others:
 * <ol>
 *   <li>storage from {@code storage.*} ({@link StorageFactory}), wrapped in
 *       {@link InstrumentedStorage} so every call is a metric;</li>
 *   <li>the codec pipeline from {@code compression.*} and {@code encryption.*} ({@link Pipelines});</li>
 *   <li>the {@link Agent} (WAL push and fetch on the socket) reporting to {@link AgentActivity},
 *       which feeds {@link AgentMetrics} and {@code /v1/status};</li>
 *   <li>every feature of {@link Features} (base backups, dumps...), opened on one
 *       {@link FeatureContext}: its routes, schedules, metrics and part of the status;</li>
 *   <li>{@code /v1/status}, readiness checks (storage probe, PostgreSQL), the metrics port with
 *       the probe endpoints, the {@code pg_stat_archiver} poller, and a housekeeping timer for the
 *       {@code .ready} backlog and schedule gauges.</li>
 * </ol>
 */
public final class Sidecar implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(Sidecar.class.getName());

  /** How long one storage probe answers readiness (probes come every few seconds). */
  static final Duration PROBE_CACHE = Duration.ofSeconds(5);
  /** Interval of the housekeeping timer (.ready backlog, schedule gauges). */
  static final Duration HOUSEKEEPING = Duration.ofSeconds(5);
  /** Interval of the pg_stat_archiver poll. */
  static final Duration ARCHIVER_POLL = Duration.ofSeconds(15);

  private final PgsidecarConfig config;
  private final Storage storage;
  private final AgentMetrics metrics;
  private final Agent agent;
  private final AgentActivity activity;
  private final RepositoryGauges repository;
  private final List<Feature.Running> features;
  private final Optional<PgStatArchiverPoller> poller;
  private final ScheduledExecutorService housekeeping = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().name("agent-housekeeping").daemon().factory());
  private MetricsServer metricsServer;

  /** Opens storage and the pipeline the configuration names and wires everything; see {@link #start()}. */
  public static Sidecar open(PgsidecarConfig config) throws IOException {
    AgentMetrics metrics = new AgentMetrics(config.cluster());
    Storage storage = new InstrumentedStorage(
        StorageFactory.open(config.storage(), metrics::storageGaveUp), metrics);
    CodecPipeline pipeline = Pipelines.forConfig(config.compression(), config.encryption());
    return new Sidecar(config, storage, pipeline, metrics, new VertxOptions());
  }

  /** With storage and pipeline given (tests); {@code storage} should already be instrumented. */
  public Sidecar(PgsidecarConfig config, Storage storage, CodecPipeline pipeline,
      AgentMetrics metrics, VertxOptions options) throws IOException {
    this.config = config;
    this.storage = storage;
    this.metrics = metrics;
    this.activity = new AgentActivity(metrics, Clock.systemUTC(), this::repositoryChanged);
    this.agent = new Agent(config, storage, pipeline, options, activity, metrics::storageGaveUp);

    this.features = Features.open(new FeatureContext(config, storage, pipeline, metrics, activity,
        new FeatureContext.RunningJobs()));
    Blocking blocking = new Blocking(agent.blockingExecutor());
    features.forEach(f -> f.adminRoutes(agent.router(), blocking));

    RepositoryLayout layout = new RepositoryLayout(config.storage().prefix(), config.cluster());
    this.repository = new RepositoryGauges(new ArchiveCatalog(storage, layout), features, metrics,
        activity);
    new StatusRoutes(config.cluster(), storage.describe(), activity, repository, features)
        .register(agent.router());

    this.poller = config.postgres().host().startsWith("/") ? Optional.empty()
        : Optional.of(new PgStatArchiverPoller(config.postgres(), config.storage().timeout(), metrics));
    // No "config" check: a configuration error stops the agent before it listens (exit 2), so a
    // running agent's configuration is valid; a check that cannot fail only tells nothing.
    agent.health()
        .add("storage", "storage is not reachable (details in the agent's log)",
            new CachedCheck(this::storageProblem, PROBE_CACHE))
        .add("postgres", "PostgreSQL does not answer (details in the agent's log)",
            new CachedCheck(this::postgresProblem, PROBE_CACHE));
  }

  /** Listens, starts the schedules and timers; returns once the socket accepts requests. */
  public void start() throws IOException {
    agent.start();
    if (MetricsServer.enabled(config.metrics())) {
      metricsServer = await(MetricsServer.start(agent.vertx(), config.metrics(), metrics, agent.health())
          .toCompletionStage().toCompletableFuture());
      LOG.log(Level.INFO, "metrics, /healthz and /readyz on " + config.metrics().host() + ":" + metricsServer.port());
    }
    // the repository may be slow or down at start: seed the gauges without holding up start-up
    Thread.ofVirtual().name("repository-seed").start(() -> {
      try {
        repository.seed();
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.WARNING, "cannot read the repository to seed the backup gauges: " + e.getMessage());
        activity.error("reading the repository " + storage.describe(), String.valueOf(e.getMessage()));
      }
    });
    features.forEach(Feature.Running::start);
    poller.ifPresent(p -> p.start(ARCHIVER_POLL));
    housekeeping.scheduleWithFixedDelay(this::housekeeping, 0, HOUSEKEEPING.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  public Agent agent() {
    return agent;
  }

  /** The port /metrics listens on, or -1 when disabled. */
  public int metricsPort() {
    return metricsServer == null ? -1 : metricsServer.port();
  }

  private void repositoryChanged() {
    repository.refreshLater();
  }

  /** Counts {@code .ready} files (the backlog gauge must fall to 0 when pushes stop) and schedules. */
  private void housekeeping() {
    try {
      Path status = config.pgdata().resolve("pg_wal/archive_status");
      if (Files.isDirectory(status)) {
        try (Stream<Path> files = Files.list(status)) {
          activity.readyPending((int) files.filter(p -> p.toString().endsWith(".ready")).count());
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.DEBUG, "cannot count .ready files: " + e);
    }
    features.forEach(Feature.Running::housekeeping);
  }

  private Optional<String> storageProblem() {
    try {
      storage.probe();
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      String why = "storage " + storage.describe() + " is not reachable: " + e.getMessage();
      activity.error("probing storage", why);
      return Optional.of(why);
    }
  }

  /**
   * PostgreSQL is required once PGDATA holds a server (before that the agent waits for the
   * init container or initdb). Without a TCP host the JDBC check cannot run and is skipped.
   */
  private Optional<String> postgresProblem() {
    if (!Files.exists(config.pgdata().resolve("PG_VERSION"))) {
      return Optional.empty();
    }
    if (poller.isEmpty()) {
      return Optional.empty();
    }
    return poller.get().pollOnce() ? Optional.empty()
        : Optional.of("PostgreSQL at " + config.postgres().host() + ":" + config.postgres().port()
            + " does not answer; check that it runs and postgres.* (host, port, user, password)");
  }

  /** Stops in reverse order: timers, the features (schedules, a running backup), the servers, storage. */
  @Override
  public void close() {
    housekeeping.shutdownNow();
    poller.ifPresent(PgStatArchiverPoller::close);
    Features.close(features);
    if (metricsServer != null) {
      try {
        await(metricsServer.close().toCompletionStage().toCompletableFuture());
      } catch (IOException e) {
        LOG.log(Level.WARNING, "closing the metrics listener: " + e.getMessage());
      }
    }
    agent.close();
    try {
      storage.close();
    } catch (IOException e) {
      LOG.log(Level.WARNING, "closing storage: " + e.getMessage());
    }
    metrics.close();
  }

  private static <T> T await(java.util.concurrent.CompletableFuture<T> f) throws IOException {
    try {
      return f.get(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (Exception e) {
      Throwable c = e.getCause() == null ? e : e.getCause();
      throw new IOException(c.getMessage(), c);
    }
  }
}
