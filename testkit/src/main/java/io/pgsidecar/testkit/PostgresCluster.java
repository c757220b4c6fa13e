package io.pgsidecar.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A real PostgreSQL 15 server for tests, started from its binaries (initdb, pg_ctl) as the
 * {@code postgres} OS user, on a free port of 127.0.0.1 and a private unix socket directory.
 *
 * <p>Use it as a JUnit extension, which starts the server before each test (instance field) or
 * before all tests (static field), stops it and deletes its directories afterwards, and adds the
 * tail of the server log to a failing test's exception:
 *
 * <pre>{@code
 * @RegisterExtension
 * final PostgresCluster pg = PostgresCluster.builder()
 *     .setting("archive_mode", "on")
 *     .setting("archive_command", "/path/to/wal-archiver push %p")
 *     .build();
 * }</pre>
 *
 * or by hand with try-with-resources ({@code start()} then {@code close()}).
 *
 * <p>Binaries come from {@link PostgresBin#dir()} ({@code PGSIDECAR_PG_BIN}, else found as the
 * agent finds them). Everything lives in one temp directory:
 * {@code data/} (PGDATA, unless chosen), {@code socket/}, {@code server.log}.
 *
 * <p>The work is split by what it does: {@link PostgresProcess} (directories, initdb, pg_ctl,
 * commands as postgres), {@link PostgresSql} (JDBC), {@link WalWaits} (archived, end of
 * recovery), {@link ClusterExtension} (the JUnit life cycle); this class is their one face.
 */
public final class PostgresCluster extends ClusterExtension implements AutoCloseable {

  private final PostgresProcess server;
  private final PostgresSql sql;
  private final WalWaits waits;

  private PostgresCluster(Builder b) {
    this.server = new PostgresProcess(b.binDir, b.settings, b.serverEnv, b.allowGroupAccess, b.walSegsizeMb,
        b.existing, b.dataDir, b.deleteDataDirOnClose);
    this.sql = new PostgresSql(server);
    this.waits = new WalWaits(server, sql);
  }

  /** A builder for a new cluster (initdb at first start). */
  public static Builder builder() {
    return new Builder(null, false);
  }

  /**
   * A builder for a server on a data directory another component filled (a restore). The
   * directory is chowned to postgres and given mode 0700 (0750 with group access) at start,
   * since PostgreSQL refuses anything else; it is kept on close unless asked otherwise. With a
   * {@code recovery.signal} in it, {@code start()} returns once the server takes read-only
   * connections, before the archived WAL is replayed: call {@link #awaitEndOfRecovery} next.
   */
  public static Builder fromExistingDataDir(Path dataDir) {
    return new Builder(dataDir, true);
  }

  /**
   * Creates an empty directory owned by postgres (mode 0700) under the temp dir, for a
   * component to restore into before {@link #fromExistingDataDir(Path)}. The caller deletes
   * it (or passes {@link Builder#deleteDataDirOnClose()}).
   */
  public static Path emptyDataDirectory() {
    try {
      Path dir = Files.createTempDirectory("pgsidecar-pgdata-");
      OsUser.chownRecursively(dir);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("could not create an empty data directory in the temp dir", e);
    }
  }

  /** The tests' PostgreSQL binaries: {@link PostgresBin#dir()}. */
  public static Path defaultBinDir() {
    return PostgresBin.dir();
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Creates the directories (and runs initdb) on first use, then starts the server. */
  @Override
  public synchronized PostgresCluster start() {
    if (server.running()) {
      return this;
    }
    boolean fresh = !server.prepared();
    try {
      if (fresh) {
        server.prepare();
      }
      server.start();
      return this;
    } catch (RuntimeException e) {
      // `try (var pg = builder.build().start())` never closes what a failed start created.
      if (fresh) {
        try {
          close();
        } catch (RuntimeException cleanup) {
          e.addSuppressed(cleanup);
        }
      }
      throw e;
    }
  }

  /** Stops the server with a fast shutdown (clean: a shutdown checkpoint is written). */
  public synchronized void stop() {
    server.stop("fast", 120);
  }

  /** Stops the server with an immediate shutdown: the next start runs crash recovery. */
  public synchronized void crash() {
    server.stop("immediate", 60);
  }

  /**
   * SIGKILL of the postmaster, the server crashing on its own (not a shutdown of any kind).
   * Returns once the postmaster and its children are gone, so that the next {@code start()}
   * runs crash recovery instead of finding the shared memory still in use.
   */
  public synchronized void killPostmaster() {
    server.killPostmaster();
  }

  /** Fast stop, then start. */
  public synchronized void restart() {
    stop();
    start();
  }

  /** Stops the server (immediately if a fast stop fails) and deletes the temp directories. */
  @Override
  public synchronized void close() {
    server.close();
  }

  // ---- running commands --------------------------------------------------------------------

  /**
   * Runs {@code command} as the postgres OS user in the cluster's temp directory, with PGHOST,
   * PGPORT, PGUSER, PGDATABASE and PGDATA pointing at this server, the PostgreSQL binaries
   * first on PATH, and the builder's server environment. Never throws on a non-zero exit.
   */
  public CommandResult runAsPostgres(List<String> command) {
    return server.runAsPostgres(command);
  }

  /** Runs psql ({@code -X -v ON_ERROR_STOP=1 -At}) with {@code args}; throws on failure. */
  public String psql(String... args) {
    return run("psql", List.of("-X", "-v", "ON_ERROR_STOP=1", "-At"), args);
  }

  /** Runs pgbench with {@code args} (e.g. {@code "-i", "-s", "1"}); throws on failure. */
  public String pgbench(String... args) {
    return run("pgbench", List.of(), args);
  }

  private String run(String program, List<String> options, String... args) {
    List<String> cmd = new ArrayList<>(List.of(bin(program)));
    cmd.addAll(options);
    cmd.addAll(List.of(args));
    return runAsPostgres(cmd).orThrow().output();
  }

  /** Absolute path of a PostgreSQL binary, e.g. {@code bin("pg_basebackup")}. */
  public String bin(String name) {
    return server.bin(name);
  }

  // ---- SQL and WAL -------------------------------------------------------------------------

  /** {@code jdbc:postgresql://127.0.0.1:PORT/postgres?user=postgres}. */
  public String jdbcUrl() {
    return sql.jdbcUrl("postgres");
  }

  public String jdbcUrl(String database) {
    return sql.jdbcUrl(database);
  }

  /** A new JDBC connection to database postgres; the caller closes it. */
  public Connection connect() throws SQLException {
    return sql.connect();
  }

  /**
   * Runs {@code sql} on a fresh connection and returns the first column of the first row of
   * its first result set as text, or null when there is none (DDL, DML, no rows).
   */
  public String sql(String sql) {
    return this.sql.sql(sql);
  }

  /** {@link #sql(String)} parsed as a long (for counts). */
  public long sqlLong(String sql) {
    return this.sql.sqlLong(sql);
  }

  /**
   * Closes the current WAL segment ({@code pg_switch_wal()}) and returns its name, e.g.
   * {@code 000000010000000000000003}. Write something first, or there may be nothing to close.
   */
  public String switchWal() {
    return sql("SELECT pg_walfile_name(pg_switch_wal())");
  }

  /**
   * Waits until {@code name} (a segment, or a {@code .backup}, {@code .partial} or {@code .history}
   * file) is archived: pg_stat_archiver reports it or a later name
   * ({@link WalWaits#archivedBy}), or its {@code archive_status/<name>.done} is there (the
   * archiver's own record, until a checkpoint removes it). Throws with the last failure and the
   * log tail on timeout.
   */
  public void awaitArchived(String name, Duration timeout) {
    waits.awaitArchived(name, timeout);
  }

  /**
   * Waits until the server has left recovery ({@code pg_is_in_recovery()} is false). pg_ctl
   * returns as soon as a restored server accepts read-only connections, which is before the
   * archived WAL has been replayed; call this before looking at restored data.
   */
  public void awaitEndOfRecovery(Duration timeout) {
    waits.awaitEndOfRecovery(timeout);
  }

  // ---- where things are --------------------------------------------------------------------

  public Path pgdata() {
    return server.pgdata();
  }

  public int port() {
    return server.port();
  }

  public Path socketDir() {
    return server.socketDir();
  }

  public Path binDir() {
    return server.binDir();
  }

  public Path logFile() {
    return server.logFile();
  }

  public boolean isRunning() {
    return server.running();
  }

  /** The last {@code lines} lines of the server log ("" when there is none yet). */
  @Override
  public String logTail(int lines) {
    return server.logTail(lines);
  }

  /** Settings for a {@link PostgresCluster}; nothing runs until {@code start()}. */
  public static final class Builder {
    private Path binDir = defaultBinDir();
    private final Map<String, String> settings = new LinkedHashMap<>();
    private final Map<String, String> serverEnv = new LinkedHashMap<>();
    private boolean allowGroupAccess;
    private int walSegsizeMb;
    private final boolean existing;
    private Path dataDir;
    private boolean deleteDataDirOnClose;

    private Builder(Path dataDir, boolean existing) {
      this.dataDir = dataDir;
      this.existing = existing;
    }

    /** A postgresql.conf setting, e.g. {@code setting("wal_level", "replica")}; quoted for you. */
    public Builder setting(String name, String value) {
      settings.put(name, value);
      return this;
    }

    public Builder settings(Map<String, String> values) {
      settings.putAll(values);
      return this;
    }

    /** An environment variable for the server, inherited by archive_command/restore_command. */
    public Builder environment(String name, String value) {
      serverEnv.put(name, value);
      return this;
    }

    /** initdb {@code --allow-group-access}: PGDATA mode 0750, readable by the postgres group. */
    public Builder allowGroupAccess() {
      this.allowGroupAccess = true;
      return this;
    }

    /** initdb {@code --wal-segsize=MB}: WAL segments of that many MiB (a power of two, 1 to 1024). */
    public Builder walSegsizeMb(int mb) {
      this.walSegsizeMb = mb;
      return this;
    }

    /** Where PGDATA goes (absent or empty; kept on close); default: inside the temp dir. */
    public Builder dataDir(Path dir) {
      if (existing) {
        throw new IllegalStateException("fromExistingDataDir already chose the data directory");
      }
      this.dataDir = dir;
      return this;
    }

    /** Delete a chosen or existing data directory on close too. */
    public Builder deleteDataDirOnClose() {
      this.deleteDataDirOnClose = true;
      return this;
    }

    public Builder binDir(Path dir) {
      this.binDir = dir;
      return this;
    }

    public PostgresCluster build() {
      if (!Files.isExecutable(binDir.resolve("pg_ctl"))) {
        throw new IllegalStateException("no pg_ctl in " + binDir
            + ": install postgresql-15 or set " + PostgresBin.ENV + " to its bin directory");
      }
      return new PostgresCluster(this);
    }
  }
}
