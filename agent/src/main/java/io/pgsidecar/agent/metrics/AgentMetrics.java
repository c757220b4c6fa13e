package io.pgsidecar.agent.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
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
import io.pgsidecar.core.storage.retry.RetryPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

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
  private static final Duration[] LATENCY_BUCKETS = {
      Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
      Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
      Duration.ofSeconds(60)};

  private static final Result[] PUSH_RESULTS = {Result.OK, Result.CONFLICT, Result.ERROR};
  private static final Result[] FETCH_RESULTS = {Result.OK, Result.NOT_FOUND, Result.ERROR};

  private final PrometheusMeterRegistry registry;
  private final JvmGcMetrics gcMetrics;
  private final long segmentSize;

  private final Timer pushDuration;
  private final Timer fetchDuration;
  private final Counter pushedPlainBytes;
  private final Counter pushedStoredBytes;
  private final Counter fetchedPlainBytes;
  private final Counter fetchedStoredBytes;
  private final Counter archiveConflicts;
  private final Counter lookaheadHits;
  private final Counter walRefused;
  private final Counter prefetchHits;
  private final GaugeValue readySegments;
  private final GaugeValue lastArchivedTime;
  private final GaugeValue lastArchivedLsn;

  private final Map<BackupKind, BackupMeters> backups = new EnumMap<>(BackupKind.class);

  private final GaugeValue recoverableFirst;
  private final GaugeValue recoverableLast;

  private final GaugeValue postgresReachable;
  private final AtomicLong archiverFailedCount = new AtomicLong();
  private final GaugeValue archiverLastFailed;
  private final GaugeValue archiverLastArchived;
  private final GaugeValue walInsertLsn;

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
    this.segmentSize = segmentSize;
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("cluster", cluster);

    pushDuration = latencyTimer("pgsidecar.wal.push.duration",
        "Time to answer a WAL push: read, compress, encrypt, upload until durable", Tags.empty());
    fetchDuration = latencyTimer("pgsidecar.wal.fetch.duration",
        "Time to answer a WAL fetch, from the prefetch spool or storage", Tags.empty());
    for (Result r : PUSH_RESULTS) {
      pushCounter(r);
    }
    for (Result r : FETCH_RESULTS) {
      fetchCounter(r);
    }
    pushedPlainBytes = bytesCounter("pgsidecar.wal.pushed.plain", "WAL bytes pushed, before compression");
    pushedStoredBytes = bytesCounter("pgsidecar.wal.pushed.stored", "WAL bytes pushed, as stored");
    fetchedPlainBytes = bytesCounter("pgsidecar.wal.fetched.plain", "WAL bytes served, decoded");
    fetchedStoredBytes = bytesCounter("pgsidecar.wal.fetched.stored", "WAL bytes fetched, as stored");
    archiveConflicts = Counter.builder("pgsidecar.wal.archive.conflicts")
        .description("Pushes refused: the archive holds that name with other content")
        .register(registry);
    walRefused = Counter.builder("pgsidecar.wal.refused")
        .description("Files the agent refused to read for archiving: a link, not a regular file,"
            + " a name PostgreSQL does not produce, or not marked .ready")
        .register(registry);
    lookaheadHits = Counter.builder("pgsidecar.wal.lookahead.hits")
        .description("Pushes answered from a look-ahead upload of a .ready segment")
        .register(registry);
    prefetchHits = Counter.builder("pgsidecar.wal.prefetch.hits")
        .description("Fetches answered from the prefetch spool")
        .register(registry);
    readySegments = gauge("pgsidecar.wal.ready.segments", null,
        "Segments waiting in pg_wal/archive_status as .ready", Tags.empty());
    lastArchivedTime = gauge("pgsidecar.wal.last.archived.timestamp", "seconds",
        "When the agent last archived a WAL segment (0: not since start)", Tags.empty());
    lastArchivedLsn = gauge("pgsidecar.wal.last.archived.lsn", "bytes",
        "Start LSN of the last archived segment, as a byte position", Tags.empty());

    for (BackupKind kind : BackupKind.values()) {
      backups.put(kind, new BackupMeters(registry, kind));
    }
    recoverableFirst = gauge("pgsidecar.recoverability.first.timestamp", "seconds",
        "Oldest moment a restore can reach (end of the oldest retained base backup)", Tags.empty());
    recoverableLast = gauge("pgsidecar.recoverability.last.timestamp", "seconds",
        "Newest moment a restore can reach (the last archived WAL)", Tags.empty());

    postgresReachable = gauge("pgsidecar.postgres.reachable", null,
        "1 when the agent's last query to PostgreSQL succeeded, else 0", Tags.empty());
    FunctionCounter.builder("pgsidecar.postgres.archiver.failed", archiverFailedCount, AtomicLong::get)
        .description("pg_stat_archiver.failed_count: archive_command failures seen by PostgreSQL")
        .register(registry);
    archiverLastFailed = gauge("pgsidecar.postgres.archiver.last.failed.timestamp", "seconds",
        "pg_stat_archiver.last_failed_time (0: never)", Tags.empty());
    archiverLastArchived = gauge("pgsidecar.postgres.archiver.last.archived.timestamp", "seconds",
        "pg_stat_archiver.last_archived_time (0: never)", Tags.empty());
    walInsertLsn = gauge("pgsidecar.postgres.wal.insert.lsn", "bytes",
        "pg_current_wal_insert_lsn() as a byte position (NaN during recovery)", Tags.empty());
    walInsertLsn.set(Double.NaN);

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
    pushCounter(result).increment();
    pushDuration.record(took);
    if (result == Result.OK) {
      pushedPlainBytes.increment(plainBytes);
      pushedStoredBytes.increment(storedBytes);
    } else if (result == Result.CONFLICT) {
      archiveConflicts.increment();
    }
  }

  /** A fetch was answered: {@code ok}, {@code not_found} or {@code error}. */
  public void walFetched(Result result, long plainBytes, long storedBytes, Duration took) {
    fetchCounter(result).increment();
    fetchDuration.record(took);
    if (result == Result.OK) {
      fetchedPlainBytes.increment(plainBytes);
      fetchedStoredBytes.increment(storedBytes);
    }
  }

  /** How many {@code .ready} files archive_status holds now. */
  public void walReadyPending(int segments) {
    readySegments.set(segments);
  }

  /**
   * A segment is durable in the archive. Sets the last-archived timestamp and LSN gauges; names
   * that are not plain segments ({@code .history}, {@code .backup}, {@code .partial}) change
   * nothing, since they would move the LSN backwards or sideways.
   */
  public void walArchived(String segmentName, Instant at) {
    OptionalSegmentLsn.of(segmentName, segmentSize).ifPresent(lsn -> {
      lastArchivedLsn.set(lsn);
      lastArchivedTime.set(seconds(at));
    });
  }

  /** A file was refused for archiving (see WalEvents.refused). */
  public void walRefused() {
    walRefused.increment();
  }

  /** A push found its segment already uploaded by look-ahead. */
  public void lookaheadHit() {
    lookaheadHits.increment();
  }

  /** A fetch was served from the prefetch spool. */
  public void prefetchHit() {
    prefetchHits.increment();
  }

  /**
   * A conflict found outside a push answer (for example by look-ahead). A push answered with
   * {@link Result#CONFLICT} already counts one: do not call both for the same push.
   */
  public void archiveConflict() {
    archiveConflicts.increment();
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
    postgresReachable.set(reachable ? 1 : 0);
  }

  /** Mirrors pg_stat_archiver's failures; {@code lastFailedTime} null means never. */
  public void pgStatArchiver(long failedCount, Instant lastFailedTime) {
    archiverFailedCount.set(failedCount);
    archiverLastFailed.set(lastFailedTime == null ? 0 : seconds(lastFailedTime));
  }

  /** Mirrors pg_stat_archiver.last_archived_time; null means never. */
  public void pgStatArchiverLastArchived(Instant lastArchivedTime) {
    archiverLastArchived.set(lastArchivedTime == null ? 0 : seconds(lastArchivedTime));
  }

  /** The server's WAL insert position in bytes; negative means unknown (in recovery): NaN. */
  public void walInsertLsn(long bytes) {
    walInsertLsn.set(bytes < 0 ? Double.NaN : bytes);
  }

  // ---- exposition ---------------------------------------------------------------------------

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

  private Counter pushCounter(Result r) {
    return Counter.builder("pgsidecar.wal.pushes").tag("result", r.label())
        .description("WAL push requests answered, by result").register(registry);
  }

  private Counter fetchCounter(Result r) {
    return Counter.builder("pgsidecar.wal.fetches").tag("result", r.label())
        .description("WAL fetch requests answered, by result").register(registry);
  }

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

  private Counter bytesCounter(String name, String description) {
    return Counter.builder(name).baseUnit("bytes").description(description).register(registry);
  }

  private GaugeValue gauge(String name, String baseUnit, String description, Tags tags) {
    return BackupMeters.gauge(registry, name, baseUnit, description, tags);
  }

  private static double seconds(Instant at) {
    return at.toEpochMilli() / 1000.0;
  }
}
