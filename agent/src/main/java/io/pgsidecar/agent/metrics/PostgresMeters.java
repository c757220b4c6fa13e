package io.pgsidecar.agent.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.concurrent.atomic.AtomicLong;

/** The meters of what the agent sees of PostgreSQL ({@code pgsidecar_postgres_*}). */
final class PostgresMeters {

  final GaugeValue reachable;
  final AtomicLong archiverFailedCount = new AtomicLong();
  final GaugeValue archiverLastFailed;
  final GaugeValue archiverLastArchived;
  final GaugeValue walInsertLsn;

  PostgresMeters(MeterRegistry registry) {
    reachable = BackupMeters.gauge(registry, "pgsidecar.postgres.reachable", null,
        "1 when the agent's last query to PostgreSQL succeeded, else 0", Tags.empty());
    FunctionCounter.builder("pgsidecar.postgres.archiver.failed", archiverFailedCount, AtomicLong::get)
        .description("pg_stat_archiver.failed_count: archive_command failures seen by PostgreSQL")
        .register(registry);
    archiverLastFailed = BackupMeters.gauge(registry, "pgsidecar.postgres.archiver.last.failed.timestamp", "seconds",
        "pg_stat_archiver.last_failed_time (0: never)", Tags.empty());
    archiverLastArchived = BackupMeters.gauge(registry, "pgsidecar.postgres.archiver.last.archived.timestamp", "seconds",
        "pg_stat_archiver.last_archived_time (0: never)", Tags.empty());
    walInsertLsn = BackupMeters.gauge(registry, "pgsidecar.postgres.wal.insert.lsn", "bytes",
        "pg_current_wal_insert_lsn() as a byte position (NaN during recovery)", Tags.empty());
    walInsertLsn.set(Double.NaN);
  }
}
