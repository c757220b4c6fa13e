package io.pgsidecar.agent.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/** The meters of WAL push and fetch ({@code pgsidecar_wal_*}), owned by {@link AgentMetrics}. */
final class WalMeters {

  private static final Result[] PUSH_RESULTS = {Result.OK, Result.CONFLICT, Result.ERROR};
  private static final Result[] FETCH_RESULTS = {Result.OK, Result.NOT_FOUND, Result.ERROR};

  private final MeterRegistry registry;
  private final long segmentSize;
  private final Timer pushDuration;
  private final Timer fetchDuration;
  private final Counter pushedPlainBytes;
  private final Counter pushedStoredBytes;
  private final Counter fetchedPlainBytes;
  private final Counter fetchedStoredBytes;
  final Counter archiveConflicts;
  final Counter lookaheadHits;
  final Counter refused;
  final Counter prefetchHits;
  final GaugeValue readySegments;
  private final GaugeValue lastArchivedTime;
  private final GaugeValue lastArchivedLsn;

  WalMeters(MeterRegistry registry, long segmentSize) {
    this.registry = registry;
    this.segmentSize = segmentSize;
    pushDuration = latencyTimer("pgsidecar.wal.push.duration",
        "Time to answer a WAL push: read, compress, encrypt, upload until durable");
    fetchDuration = latencyTimer("pgsidecar.wal.fetch.duration",
        "Time to answer a WAL fetch, from the prefetch spool or storage");
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
    refused = Counter.builder("pgsidecar.wal.refused")
        .description("Files the agent refused to read for archiving: a link, not a regular file,"
            + " a name PostgreSQL does not produce, or not marked .ready")
        .register(registry);
    lookaheadHits = Counter.builder("pgsidecar.wal.lookahead.hits")
        .description("Pushes answered from a look-ahead upload of a .ready segment")
        .register(registry);
    prefetchHits = Counter.builder("pgsidecar.wal.prefetch.hits")
        .description("Fetches answered from the prefetch spool")
        .register(registry);
    readySegments = BackupMeters.gauge(registry, "pgsidecar.wal.ready.segments", null,
        "Segments waiting in pg_wal/archive_status as .ready", Tags.empty());
    lastArchivedTime = BackupMeters.gauge(registry, "pgsidecar.wal.last.archived.timestamp",
        "seconds", "When the agent last archived a WAL segment (0: not since start)", Tags.empty());
    lastArchivedLsn = BackupMeters.gauge(registry, "pgsidecar.wal.last.archived.lsn", "bytes",
        "Start LSN of the last archived segment, as a byte position", Tags.empty());
  }

  void pushed(Result result, long plainBytes, long storedBytes, Duration took) {
    pushCounter(result).increment();
    pushDuration.record(took);
    if (result == Result.OK) {
      pushedPlainBytes.increment(plainBytes);
      pushedStoredBytes.increment(storedBytes);
    } else if (result == Result.CONFLICT) {
      archiveConflicts.increment();
    }
  }

  void fetched(Result result, long plainBytes, long storedBytes, Duration took) {
    fetchCounter(result).increment();
    fetchDuration.record(took);
    if (result == Result.OK) {
      fetchedPlainBytes.increment(plainBytes);
      fetchedStoredBytes.increment(storedBytes);
    }
  }

  /**
   * A segment is durable in the archive. Sets the last-archived timestamp and LSN gauges; names
   * that are not plain segments ({@code .history}, {@code .backup}, {@code .partial}) change
   * nothing, since they would move the LSN backwards or sideways.
   */
  void archived(String segmentName, double atSeconds) {
    OptionalSegmentLsn.of(segmentName, segmentSize).ifPresent(lsn -> {
      lastArchivedLsn.set(lsn);
      lastArchivedTime.set(atSeconds);
    });
  }

  private Counter pushCounter(Result r) {
    return Counter.builder("pgsidecar.wal.pushes").tag("result", r.label())
        .description("WAL push requests answered, by result").register(registry);
  }

  private Counter fetchCounter(Result r) {
    return Counter.builder("pgsidecar.wal.fetches").tag("result", r.label())
        .description("WAL fetch requests answered, by result").register(registry);
  }

  private Timer latencyTimer(String name, String description) {
    return Timer.builder(name).description(description)
        .serviceLevelObjectives(AgentMetrics.LATENCY_BUCKETS).register(registry);
  }

  private Counter bytesCounter(String name, String description) {
    return Counter.builder(name).baseUnit("bytes").description(description).register(registry);
  }
}
