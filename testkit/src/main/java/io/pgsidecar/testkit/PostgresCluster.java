package io.pgsidecar.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

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
 */
public final class PostgresCluster implements AutoCloseable, BeforeAllCallback, AfterAllCallback,
    BeforeEachCallback, AfterEachCallback {

  private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(5);
  private static final int LOG_TAIL_LINES = 60;

  private final Path binDir;
  private final Map<String, String> settings;
  private final Map<String, String> serverEnv;
  private final boolean allowGroupAccess;
  private final boolean existing;
  private final Path chosenDataDir;
  private final boolean deleteDataDirOnClose;

  private Path base;
  private Path pgdata;
  private int port;
  private boolean running;
  private Scope scope = Scope.NONE;

  private enum Scope { NONE, CLASS, METHOD }

  private PostgresCluster(Builder b) {
    this.binDir = b.binDir;
    this.settings = new LinkedHashMap<>(b.settings);
    this.serverEnv = new LinkedHashMap<>(b.serverEnv);
    this.allowGroupAccess = b.allowGroupAccess;
    this.existing = b.existing;
    this.chosenDataDir = b.dataDir;
    this.deleteDataDirOnClose = b.deleteDataDirOnClose;
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
  public synchronized PostgresCluster start() {
    if (running) {
      return this;
    }
    boolean fresh = base == null;
    try {
      if (fresh) {
        prepare();
      }
      startServer();
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

  private void startServer() {
    for (int attempt = 1; ; attempt++) {
      CommandResult r = pgCtl("-l", logFile().toString(), "-w", "-t", "120", "start");
      if (r.ok()) {
        running = true;
        return;
      }
      // Another process took the free port between our probe and the bind: pick another.
      if (attempt < 3 && logTail(20).contains("could not bind")) {
        port = freePort();
        appendSettings(Map.of("port", Integer.toString(port)));
        continue;
      }
      throw new IllegalStateException("PostgreSQL did not start on " + pgdata + " (pg_ctl exit "
          + r.exitCode() + ")\n" + r.output() + "\n--- server log tail ---\n"
          + logTail(LOG_TAIL_LINES));
    }
  }

  /** Stops the server with a fast shutdown (clean: a shutdown checkpoint is written). */
  public synchronized void stop() {
    if (running) {
      pgCtl("-m", "fast", "-w", "-t", "120", "stop").orThrow();
      running = false;
    }
  }

  /** Stops the server with an immediate shutdown: the next start runs crash recovery. */
  public synchronized void crash() {
    if (running) {
      pgCtl("-m", "immediate", "-w", "-t", "60", "stop").orThrow();
      running = false;
    }
  }

  /**
   * SIGKILL of the postmaster, the server crashing on its own (not a shutdown of any kind).
   * Returns once the postmaster and its children are gone, so that the next {@code start()}
   * runs crash recovery instead of finding the shared memory still in use.
   */
  public synchronized void killPostmaster() {
    if (!running) {
      return;
    }
    long pid;
    try {
      pid = Long.parseLong(Files.readAllLines(pgdata.resolve("postmaster.pid")).get(0).strip());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the postmaster's pid in " + pgdata, e);
    }
    ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow(() ->
        new IllegalStateException("no postmaster with pid " + pid + " (" + pgdata + ")"));
    List<ProcessHandle> children = postmaster.children().toList();
    postmaster.destroyForcibly();
    // children notice the postmaster's death and exit on their own
    try {
      Waits.until(Duration.ofSeconds(30), Duration.ofMillis(20),
          () -> !postmaster.isAlive() && children.stream().noneMatch(ProcessHandle::isAlive));
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException("the postmaster " + pid + " or a child outlived SIGKILL by 30 s", e);
    }
    running = false;
  }

  /** Fast stop, then start. */
  public synchronized void restart() {
    stop();
    start();
  }

  /** Stops the server (immediately if a fast stop fails) and deletes the temp directories. */
  @Override
  public synchronized void close() {
    try {
      if (running) {
        CommandResult r = pgCtl("-m", "fast", "-w", "-t", "60", "stop");
        if (!r.ok()) {
          pgCtl("-m", "immediate", "-w", "-t", "60", "stop");
        }
        running = false;
      }
    } finally {
      if (chosenDataDir != null && deleteDataDirOnClose) {
        OsUser.deleteRecursively(chosenDataDir);
      }
      OsUser.deleteRecursively(base);
      base = null;
      pgdata = null;
    }
  }

  private void prepare() {
    try {
      base = Files.createTempDirectory("pgsidecar-pg-");
      Files.createDirectory(base.resolve("socket"));
      pgdata = chosenDataDir != null ? chosenDataDir.toAbsolutePath() : base.resolve("data");
      OsUser.chownRecursively(base);
      port = freePort();
      if (existing) {
        if (!Files.isDirectory(pgdata)) {
          throw new IllegalStateException("data directory " + pgdata + " does not exist");
        }
        OsUser.chownRecursively(pgdata);
        Files.setPosixFilePermissions(pgdata,
            PosixFilePermissions.fromString(allowGroupAccess ? "rwxr-x---" : "rwx------"));
      } else {
        initdb();
      }
      Map<String, String> all = new LinkedHashMap<>();
      all.put("port", Integer.toString(port));
      all.put("listen_addresses", "127.0.0.1");
      all.put("unix_socket_directories", socketDir().toString());
      all.putAll(settings);
      appendSettings(all);
    } catch (IOException e) {
      throw new UncheckedIOException("could not prepare directories for PostgreSQL", e);
    }
  }

  private void initdb() throws IOException {
    if (Files.isDirectory(pgdata)) {
      try (var s = Files.list(pgdata)) {
        if (s.findAny().isPresent()) {
          throw new IllegalStateException("initdb needs an empty data directory: " + pgdata
              + " is not empty (use PostgresCluster.fromExistingDataDir to start on it)");
        }
      }
    } else {
      Files.createDirectories(pgdata);
    }
    OsUser.chownRecursively(pgdata);
    List<String> cmd = new ArrayList<>(List.of(bin("initdb"), "-D", pgdata.toString(),
        "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync",
        "--no-instructions"));
    if (allowGroupAccess) {
      cmd.add("--allow-group-access");
    }
    runAsPostgres(cmd).orThrow();
  }

  /** Appends {@code key = 'value'} lines to postgresql.conf (later lines win). */
  private void appendSettings(Map<String, String> values) {
    StringBuilder sb = new StringBuilder("\n# added by the pgsidecar testkit\n");
    values.forEach((k, v) ->
        sb.append(k).append(" = '").append(v.replace("'", "''")).append("'\n"));
    try {
      Files.writeString(pgdata.resolve("postgresql.conf"), sb, StandardCharsets.UTF_8,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("could not write settings to " + pgdata
          + "/postgresql.conf", e);
    }
  }

  private CommandResult pgCtl(String... args) {
    List<String> cmd = new ArrayList<>(List.of(bin("pg_ctl"), "-D", pgdata.toString()));
    cmd.addAll(List.of(args));
    return runAsPostgres(cmd);
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("could not find a free TCP port on 127.0.0.1", e);
    }
  }

  // ---- running commands --------------------------------------------------------------------

  /**
   * Runs {@code command} as the postgres OS user in the cluster's temp directory, with PGHOST,
   * PGPORT, PGUSER, PGDATABASE and PGDATA pointing at this server, the PostgreSQL binaries
   * first on PATH, and the builder's server environment. Never throws on a non-zero exit.
   */
  public CommandResult runAsPostgres(List<String> command) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", binDir + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
    env.put("PGDATA", pgdata.toString());
    env.put("PGHOST", socketDir().toString());
    env.put("PGPORT", Integer.toString(port));
    env.put("PGUSER", "postgres");
    env.put("PGDATABASE", "postgres");
    env.putAll(serverEnv);
    return OsUser.run(command, env, base, COMMAND_TIMEOUT);
  }

  /** Runs psql ({@code -X -v ON_ERROR_STOP=1 -At}) with {@code args}; throws on failure. */
  public String psql(String... args) {
    List<String> cmd = new ArrayList<>(List.of(bin("psql"), "-X", "-v", "ON_ERROR_STOP=1", "-At"));
    cmd.addAll(List.of(args));
    return runAsPostgres(cmd).orThrow().output();
  }

  /** Runs pgbench with {@code args} (e.g. {@code "-i", "-s", "1"}); throws on failure. */
  public String pgbench(String... args) {
    List<String> cmd = new ArrayList<>(List.of(bin("pgbench")));
    cmd.addAll(List.of(args));
    return runAsPostgres(cmd).orThrow().output();
  }

  /** Absolute path of a PostgreSQL binary, e.g. {@code bin("pg_basebackup")}. */
  public String bin(String name) {
    return binDir.resolve(name).toString();
  }

  // ---- SQL ---------------------------------------------------------------------------------

  /** {@code jdbc:postgresql://127.0.0.1:PORT/postgres?user=postgres}. */
  public String jdbcUrl() {
    return jdbcUrl("postgres");
  }

  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=postgres";
  }

  /** A new JDBC connection to database postgres; the caller closes it. */
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl());
  }

  /**
   * Runs {@code sql} on a fresh connection and returns the first column of the first row of
   * its first result set as text, or null when there is none (DDL, DML, no rows).
   */
  public String sql(String sql) {
    try (Connection c = connect(); Statement st = c.createStatement()) {
      boolean isResultSet = st.execute(sql);
      while (true) {
        if (isResultSet) {
          try (ResultSet rs = st.getResultSet()) {
            return rs.next() ? rs.getString(1) : null;
          }
        }
        if (st.getUpdateCount() == -1) {
          return null;
        }
        isResultSet = st.getMoreResults();
      }
    } catch (SQLException e) {
      throw new IllegalStateException("SQL failed on " + jdbcUrl() + ": " + sql + ": "
          + e.getMessage(), e);
    }
  }

  /** {@link #sql(String)} parsed as a long (for counts). */
  public long sqlLong(String sql) {
    String v = sql(sql);
    if (v == null) {
      throw new IllegalStateException("no value returned by: " + sql);
    }
    return Long.parseLong(v);
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
   * file) is archived: pg_stat_archiver reports it or a later name (see {@link #archivedBy}), or
   * its {@code archive_status/<name>.done} is there (the archiver's own record, until a checkpoint
   * removes it). Throws with the last failure and the log tail on timeout.
   */
  public void awaitArchived(String name, Duration timeout) {
    Path done = pgdata.resolve("pg_wal/archive_status/" + name + ".done");
    try {
      Waits.until(timeout, Duration.ofMillis(50), () -> {
        String last = sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
        return archivedBy(last, name) || Files.exists(done);
      });
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException(name + " not archived within " + timeout
          + "; pg_stat_archiver: last archived "
          + sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") + ", last failed "
          + sql("SELECT coalesce(last_failed_wal, '') FROM pg_stat_archiver")
          + "\n--- server log tail ---\n" + logTail(LOG_TAIL_LINES), e);
    }
  }

  /**
   * Whether {@code last} (pg_stat_archiver's {@code last_archived_wal}) shows {@code wanted}
   * archived. The archiver takes ready files in name order, history files first, so for
   * segments, {@code .backup} files ({@code <start segment>.<offset>.backup}, after their start
   * segment) and {@code .partial} files, a name at or after {@code wanted} means done: after
   * a base backup the last archived name is usually its {@code .backup} file, whose length
   * differs from a segment's (the old check compared lengths and then waited for ever). Two
   * exceptions: a history file says nothing about segments (it jumps the queue), and
   * {@code <S>.partial} means segment S of that timeline will never be archived whole.
   */
  static boolean archivedBy(String last, String wanted) {
    if (last.isEmpty()) {
      return false;
    }
    if (last.equals(wanted)) {
      return true;
    }
    if (isHistory(wanted)) {
      // Written at promotion, archived before any segment of its timeline: a later timeline's
      // file of any kind comes after it.
      return last.substring(0, 8).compareTo(wanted.substring(0, 8)) >= 0;
    }
    if (isHistory(last)) {
      return false;
    }
    if (last.endsWith(".partial") && wanted.equals(last.substring(0, 24))) {
      return false;
    }
    return wanted.compareTo(last) <= 0;
  }

  private static boolean isHistory(String name) {
    return name.length() == 16 && name.endsWith(".history");
  }

  /**
   * Waits until the server has left recovery ({@code pg_is_in_recovery()} is false). pg_ctl
   * returns as soon as a restored server accepts read-only connections, which is before the
   * archived WAL has been replayed; call this before looking at restored data.
   */
  public void awaitEndOfRecovery(Duration timeout) {
    try {
      Waits.until(timeout, Duration.ofMillis(50), () -> "f".equals(sql("SELECT pg_is_in_recovery()")));
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException("server on " + pgdata + " still in recovery after "
          + timeout + "\n--- server log tail ---\n" + logTail(LOG_TAIL_LINES), e);
    }
  }

  // ---- where things are --------------------------------------------------------------------

  public Path pgdata() {
    return pgdata;
  }

  public int port() {
    return port;
  }

  public Path socketDir() {
    return base.resolve("socket");
  }

  public Path binDir() {
    return binDir;
  }

  public Path logFile() {
    return base.resolve("server.log");
  }

  public boolean isRunning() {
    return running;
  }

  /** The last {@code lines} lines of the server log ("" when there is none yet). */
  public String logTail(int lines) {
    if (base == null || !Files.exists(logFile())) {
      return "";
    }
    try {
      List<String> all = Files.readAllLines(logFile(), StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(server log unreadable: " + e + ")";
    }
  }

  // ---- JUnit 5 -----------------------------------------------------------------------------

  @Override
  public void beforeAll(ExtensionContext context) {
    scope = Scope.CLASS;
    start();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (scope == Scope.NONE) {
      scope = Scope.METHOD;
      start();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    context.getExecutionException().ifPresent(this::attachLogTail);
    if (scope == Scope.METHOD) {
      scope = Scope.NONE;
      close();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (scope == Scope.CLASS) {
      scope = Scope.NONE;
      context.getExecutionException().ifPresent(this::attachLogTail);
      close();
    }
  }

  /** Puts the log tail where the failure is reported, and on stderr (surefire's -output.txt). */
  private void attachLogTail(Throwable failure) {
    String tail = logTail(LOG_TAIL_LINES);
    if (tail.isEmpty()) {
      return;
    }
    String text = "PostgreSQL server log (" + pgdata + "), last " + LOG_TAIL_LINES
        + " lines:\n" + tail;
    System.err.println(text);
    failure.addSuppressed(new ServerLog(text));
  }

  /** Carries the server log tail as a suppressed exception of a failed test. */
  static final class ServerLog extends RuntimeException {
    ServerLog(String text) {
      super(text, null, false, false);
    }
  }

  /** Settings for a {@link PostgresCluster}; nothing runs until {@code start()}. */
  public static final class Builder {
    private Path binDir = defaultBinDir();
    private final Map<String, String> settings = new LinkedHashMap<>();
    private final Map<String, String> serverEnv = new LinkedHashMap<>();
    private boolean allowGroupAccess;
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
