package io.pgsidecar.agent.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgsidecar.core.storage.RetryPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * Every Prometheus meter of the agent, behind a typed API the services call ({@code walPushed},
 * {@code backupSucceeded}, ...). Services never touch Micrometer: this class alone decides names,
 * labels and units, so the alert rules and the dashboard (dashboards/) can rely on them; the
 * MetricNamesTest proves every name they use is exported. docs/metrics.md lists each meter.
 *
 * <p>Every meter carries the {@code cluster} label. Meters with a bounded label ({@code kind},
 * {@code result}, {@code operation}) are registered for every value at construction, so a series
 * exists at 0 before its first event: {@code increase()} then sees the first one, and an absent
 * series means an absent agent. Timestamps are Unix seconds; 0 means "never".
 */
public final class AgentMetrics implements AutoCloseable {
  /** PostgreSQL's default WAL segment size; {@link #walArchived} derives the LSN from it. */
  public static final long DEFAULT_SEGMENT_SIZE = 16L * 1024 * 1024;

  /** Histogram buckets for WAL and storage latencies: from a local disk to a slow cloud call. */
  static final Duration[] LATENCY_BUCKETS = {
      Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
      Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
      Duration.ofSeconds(60)};


  private final PrometheusMeterRegistry registry;
  private final JvmGcMetrics gcMetrics;

  private final WalMeters wal;

  private final Map<BackupKind, BackupMeters> backups = new EnumMap<>(BackupKind.class);

  private final GaugeValue recoverableFirst;
  private final GaugeValue recoverableLast;

  private final PostgresMeters postgres;

  /** Meters for {@code cluster} with 16 MiB WAL segments. */
  public AgentMetrics(String cluster) {
    this(cluster, DEFAULT_SEGMENT_SIZE);
  }

  /**
   * @param cluster the repository's cluster name, the {@code cluster} label of every meter
   * @param segmentSize the server's wal_segment_size in bytes, to turn segment names into LSNs
   */
  public AgentMetrics(String cluster, long segmentSize) {
    Objects.requireNonNull(cluster, "cluster");
    if (segmentSize <= 0 || Long.bitCount(segmentSize) != 1) {
      throw new IllegalArgumentException(
          "WAL segment size " + segmentSize + " is not a power of two; pass wal_segment_size in bytes");
    }
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("cluster", cluster);

    wal = new WalMeters(registry, segmentSize);

    for (BackupKind kind : BackupKind.values()) {
      backups.put(kind, new BackupMeters(registry, kind));
    }
    recoverableFirst = gauge("pgsidecar.recoverability.first.timestamp", "seconds",
        "Oldest moment a restore can reach (end of the oldest retained base backup)", Tags.empty());
    recoverableLast = gauge("pgsidecar.recoverability.last.timestamp", "seconds",
        "Newest moment a restore can reach (the last archived WAL)", Tags.empty());

    postgres = new PostgresMeters(registry);

    for (RetryPolicy.Operation op : RetryPolicy.Operation.values()) {
      retriesExhaustedCounter(op);
    }
    for (StorageOperation op : StorageOperation.values()) {
      storageTimer(op);
      storageRetryCounter(op);
      for (Result r : Result.values()) {
        storageCounter(op, r);
      }
    }

    new JvmMemoryMetrics().bindTo(registry);
    gcMetrics = new JvmGcMetrics();
    gcMetrics.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
  }

  // ---- WAL ----------------------------------------------------------------------------------

  /** A push was answered: {@code ok}, {@code conflict} (also counted as a conflict) or {@code error}. */
  public void walPushed(Result result, long plainBytes, long storedBytes, Duration took) {
    wal.pushed(result, plainBytes, storedBytes, took);
  }

  /** A fetch was answered: {@code ok}, {@code not_found} or {@code error}. */
  public void walFetched(Result result, long plainBytes, long storedBytes, Duration took) {
    wal.fetched(result, plainBytes, storedBytes, took);
  }

  /** How many {@code .ready} files archive_status holds now. */
  public void walReadyPending(int segments) {
    wal.readySegments.set(segments);
  }

  /** A segment is durable in the archive (see {@link WalMeters#archived}). */
  public void walArchived(String segmentName, Instant at) {
    wal.archived(segmentName, seconds(at));
  }

  /** A file was refused for archiving (see WalEvents.refused). */
  public void walRefused() {
    wal.refused.increment();
  }

  /** A push found its segment already uploaded by look-ahead. */
  public void lookaheadHit() {
    wal.lookaheadHits.increment();
  }

  /** A fetch was served from the prefetch spool. */
  public void prefetchHit() {
    wal.prefetchHits.increment();
  }

  /**
   * A conflict found outside a push answer (for example by look-ahead). A push answered with
   * {@link Result#CONFLICT} already counts one: do not call both for the same push.
   */
  public void archiveConflict() {
    wal.archiveConflicts.increment();
  }

  // ---- base backups and dumps ---------------------------------------------------------------

  public void backupStarted(BackupKind kind) {
    backups.get(kind).started();
  }

  /** A backup of {@code kind} finished at {@code at}: its duration and its sizes plain and stored. */
  public void backupSucceeded(BackupKind kind, Duration took, long rawBytes, long storedBytes, Instant at) {
    backups.get(kind).succeeded(took, rawBytes, storedBytes, seconds(at));
  }

  public void backupFailed(BackupKind kind, Instant at) {
    backups.get(kind).failed(seconds(at));
  }

  /**
   * Seeds the last success from the repository at start-up (the newest backup.json), so an agent
   * restart does not read as "never backed up". Leaves the run counters alone.
   */
  public void backupLastSuccess(BackupKind kind, Instant at, Duration took, long rawBytes, long storedBytes) {
    backups.get(kind).seed(took, rawBytes, storedBytes, seconds(at));
  }

  /** How many complete backups of {@code kind} the repository holds. */
  public void retained(BackupKind kind, int count) {
    backups.get(kind).retained.set(count);
  }

  /** Whether a schedule for {@code kind} is configured, and when it fires next (null: none). */
  public void schedule(BackupKind kind, boolean enabled, Instant nextRun) {
    BackupMeters g = backups.get(kind);
    g.scheduleEnabled.set(enabled ? 1 : 0);
    g.nextRun.set(nextRun == null ? 0 : seconds(nextRun));
  }

  /** The window a point-in-time restore can reach; nulls mean "nothing restorable" (0). */
  public void recoverabilityWindow(Instant first, Instant last) {
    recoverableFirst.set(first == null ? 0 : seconds(first));
    recoverableLast.set(last == null ? 0 : seconds(last));
  }

  // ---- storage ------------------------------------------------------------------------------

  /** One call of a Storage method finished with {@code result} after {@code took}. */
  public void storageRequest(StorageOperation operation, Result result, Duration took) {
    storageCounter(operation, result).increment();
    storageTimer(operation).record(took);
  }

  /** A caller retries a failed storage call. */
  public void storageRetry(StorageOperation operation) {
    storageRetryCounter(operation).increment();
  }

  /**
   * A storage call gave up: its retries or its deadline ran out ({@link RetryPolicy.GiveUps};
   * the policy has logged it once already).
   */
  public void storageGaveUp(RetryPolicy.Operation operation, String what, int attempts,
      Duration elapsed, Throwable last) {
    retriesExhaustedCounter(operation).increment();
  }

  // ---- PostgreSQL ---------------------------------------------------------------------------

  public void postgresReachable(boolean reachable) {
    postgres.reachable.set(reachable ? 1 : 0);
  }

  /** Mirrors pg_stat_archiver's failures; {@code lastFailedTime} null means never. */
  public void pgStatArchiver(long failedCount, Instant lastFailedTime) {
    postgres.archiverFailedCount.set(failedCount);
    postgres.archiverLastFailed.set(lastFailedTime == null ? 0 : seconds(lastFailedTime));
  }

  /** Mirrors pg_stat_archiver.last_archived_time; null means never. */
  public void pgStatArchiverLastArchived(Instant lastArchivedTime) {
    postgres.archiverLastArchived.set(lastArchivedTime == null ? 0 : seconds(lastArchivedTime));
  }

  /** The server's WAL insert position in bytes; negative means unknown (in recovery): NaN. */
  public void walInsertLsn(long bytes) {
    postgres.walInsertLsn.set(bytes < 0 ? Double.NaN : bytes);
  }

  // ---- exposition ---------------------------------------------------------------------------

  /** The registry, for a feature that keeps its own meters (they get the cluster tag too). */
  public io.micrometer.core.instrument.MeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }

  /** Content type of {@link #scrape()}'s text. */
  public static String contentType() {
    return "text/plain; version=0.0.4; charset=utf-8";
  }

  @Override
  public void close() {
    gcMetrics.close();
    registry.close();
  }

  // ---- meter construction -------------------------------------------------------------------

  private Counter storageCounter(StorageOperation op, Result r) {
    return Counter.builder("pgsidecar.storage.requests")
        .tags("operation", op.label(), "result", r.label())
        .description("Storage calls, by operation and result").register(registry);
  }

  private Counter storageRetryCounter(StorageOperation op) {
    return Counter.builder("pgsidecar.storage.retries").tag("operation", op.label())
        .description("Storage calls retried after a failure").register(registry);
  }

  private Counter retriesExhaustedCounter(RetryPolicy.Operation op) {
    return Counter.builder("pgsidecar.storage.retries.exhausted").tag("operation", op.label())
        .description("Storage calls given up after their retries or deadline, by operation class")
        .register(registry);
  }

  private Timer storageTimer(StorageOperation op) {
    return latencyTimer("pgsidecar.storage.request.duration", "Latency of storage calls",
        Tags.of("operation", op.label()));
  }

  private Timer latencyTimer(String name, String description, Tags tags) {
    return Timer.builder(name).description(description).tags(tags)
        .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
  }

  private GaugeValue gauge(String name, String baseUnit, String description, Tags tags) {
    return BackupMeters.gauge(registry, name, baseUnit, description, tags);
  }

  private static double seconds(Instant at) {
    return at.toEpochMilli() / 1000.0;
  }
}
