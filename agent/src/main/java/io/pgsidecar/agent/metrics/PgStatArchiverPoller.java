package io.pgsidecar.agent.metrics;

import java.lang.System.Logger.Level;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Mirrors {@code pg_stat_archiver} and the WAL insert position into {@link AgentMetrics} every
 * few seconds. PostgreSQL counts every archive_command failure, including those that never
 * reached the agent (wal-archiver missing, socket gone, agent down), so this is the one place a
 * broken archive_command shows up. The insert position tells the RPO alert whether the server
 * is writing at all. Each poll that fails sets {@code pgsidecar_postgres_reachable} to 0 and
 * drops the connection; the next poll connects again.
 */
public final class PgStatArchiverPoller implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(PgStatArchiverPoller.class.getName());

  static final String QUERY = """
      select failed_count, last_failed_time, last_archived_wal, last_archived_time,
             case when pg_is_in_recovery() then null
                  else pg_current_wal_insert_lsn() - '0/0' end as insert_lsn
        from pg_stat_archiver""";

  /** What the last successful poll read; {@code insertLsn} is -1 while the server is in recovery. */
  public record Snapshot(long failedCount, Optional<Instant> lastFailedTime,
      Optional<String> lastArchivedWal, Optional<Instant> lastArchivedTime, long insertLsn) {}

  private final String url;
  private final Properties properties;
  private final AgentMetrics metrics;
  private final AtomicReference<Snapshot> last = new AtomicReference<>();
  private ScheduledExecutorService scheduler;
  private Connection connection;

  /**
   * @param postgres where the server listens; {@code host} must be a TCP host (the JDBC driver
   *     cannot use a unix socket directory)
   * @param timeout bound of the connect and of the query
   */
  public PgStatArchiverPoller(PgsidecarConfig.Postgres postgres, Duration timeout, AgentMetrics metrics) {
    this.url = jdbcUrl(postgres);
    this.properties = connectionProperties(postgres, timeout);
    this.metrics = metrics;
  }

  static String jdbcUrl(PgsidecarConfig.Postgres postgres) {
    if (postgres.host().startsWith("/")) {
      throw new IllegalArgumentException("postgres.host " + postgres.host()
          + " is a unix socket directory, which the JDBC driver cannot use;"
          + " set postgres.host to a TCP address such as 127.0.0.1");
    }
    String host = postgres.host().contains(":") ? "[" + postgres.host() + "]" : postgres.host();
    return "jdbc:postgresql://" + host + ":" + postgres.port() + "/" + postgres.database();
  }

  private static Properties connectionProperties(PgsidecarConfig.Postgres postgres, Duration timeout) {
    Properties p = new Properties();
    p.setProperty("user", postgres.user());
    postgres.passwordFile().ifPresent(file -> {
      try {
        p.setProperty("password", Files.readString(file).strip());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read postgres.password-file (PGSIDECAR_POSTGRES_PASSWORD_FILE) " + file
            + ": " + e.getMessage() + "; check the mounted secret and its permissions", e);
      }
    });
    long seconds = Math.max(1, timeout.toSeconds());
    p.setProperty("connectTimeout", Long.toString(seconds));
    p.setProperty("loginTimeout", Long.toString(seconds));
    p.setProperty("socketTimeout", Long.toString(seconds));
    p.setProperty("ApplicationName", "pgsidecar-metrics");
    return p;
  }

  /** Polls now and then every {@code interval} on a daemon thread of its own. */
  public synchronized void start(Duration interval) {
    if (scheduler != null) {
      throw new IllegalStateException("pg_stat_archiver poller already started");
    }
    scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pgsidecar-pg-stat-archiver");
      t.setDaemon(true);
      return t;
    });
    scheduler.scheduleWithFixedDelay(this::pollOnce, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** One poll; true when PostgreSQL answered. Never throws: a failure is a metric and a log line. */
  public synchronized boolean pollOnce() {
    try {
      if (connection == null || connection.isClosed()) {
        connection = DriverManager.getConnection(url, properties);
      }
      Snapshot s = query(connection);
      last.set(s);
      metrics.pgStatArchiver(s.failedCount(), s.lastFailedTime().orElse(null));
      metrics.pgStatArchiverLastArchived(s.lastArchivedTime().orElse(null));
      metrics.walInsertLsn(s.insertLsn());
      metrics.postgresReachable(true);
      return true;
    } catch (SQLException | RuntimeException e) {
      LOG.log(Level.WARNING, "cannot read pg_stat_archiver from " + url + ": " + e.getMessage()
          + "; check that PostgreSQL runs and postgres.* (host, port, user, password) is right");
      metrics.postgresReachable(false);
      closeConnection();
      return false;
    }
  }

  private static Snapshot query(Connection c) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(QUERY)) {
      if (!rs.next()) {
        throw new SQLException("pg_stat_archiver returned no row");
      }
      BigDecimal lsn = rs.getBigDecimal("insert_lsn");
      return new Snapshot(rs.getLong("failed_count"), instant(rs.getTimestamp("last_failed_time")),
          Optional.ofNullable(rs.getString("last_archived_wal")),
          instant(rs.getTimestamp("last_archived_time")), lsn == null ? -1 : lsn.longValueExact());
    }
  }

  private static Optional<Instant> instant(Timestamp t) {
    return Optional.ofNullable(t).map(Timestamp::toInstant);
  }

  /** The last successful poll, for {@code /v1/status}; empty before the first one. */
  public Optional<Snapshot> last() {
    return Optional.ofNullable(last.get());
  }

  private void closeConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // The connection is being dropped because it failed; nothing more to report.
      }
      connection = null;
    }
  }

  @Override
  public void close() {
    ScheduledExecutorService s;
    synchronized (this) {
      s = scheduler;
      scheduler = null;
    }
    if (s != null) {
      s.shutdownNow();
      try {
        s.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (this) {
      closeConnection();
    }
  }
}
