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
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The server of a {@link PostgresCluster} on disk and as a process: its temp directory, initdb,
 * postgresql.conf settings, pg_ctl start and the three ways of stopping (fast, immediate,
 * SIGKILL), and commands run as the postgres OS user against it. Not thread-safe on its own:
 * {@link PostgresCluster} calls it under its lock.
 */
final class PostgresProcess {
  static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(5);
  static final int LOG_TAIL_LINES = 60;

  private final Path binDir;
  private final Map<String, String> settings;
  private final Map<String, String> serverEnv;
  private final boolean allowGroupAccess;
  private final int walSegsizeMb;
  private final boolean existing;
  private final Path chosenDataDir;
  private final boolean deleteDataDirOnClose;

  private Path base;
  private Path pgdata;
  private int port;
  private boolean running;

  PostgresProcess(Path binDir, Map<String, String> settings, Map<String, String> serverEnv,
      boolean allowGroupAccess, int walSegsizeMb, boolean existing, Path chosenDataDir,
      boolean deleteDataDirOnClose) {
    this.binDir = binDir;
    this.settings = new LinkedHashMap<>(settings);
    this.serverEnv = new LinkedHashMap<>(serverEnv);
    this.allowGroupAccess = allowGroupAccess;
    this.walSegsizeMb = walSegsizeMb;
    this.existing = existing;
    this.chosenDataDir = chosenDataDir;
    this.deleteDataDirOnClose = deleteDataDirOnClose;
  }

  boolean prepared() {
    return base != null;
  }

  boolean running() {
    return running;
  }

  Path base() {
    return base;
  }

  Path pgdata() {
    return pgdata;
  }

  int port() {
    return port;
  }

  Path binDir() {
    return binDir;
  }

  Path socketDir() {
    return base.resolve("socket");
  }

  Path logFile() {
    return base.resolve("server.log");
  }

  /** Absolute path of a PostgreSQL binary. */
  String bin(String name) {
    return binDir.resolve(name).toString();
  }

  /** The temp directory, PGDATA (initdb, or the existing one made PostgreSQL's), the settings. */
  void prepare() {
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
    if (walSegsizeMb > 0) {
      cmd.add("--wal-segsize=" + walSegsizeMb);
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

  /** pg_ctl start, on another free port when the chosen one was taken meanwhile. */
  void start() {
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

  /** pg_ctl stop in {@code mode} ("fast" or "immediate"); throws when it fails. */
  void stop(String mode, int timeoutSeconds) {
    if (running) {
      pgCtl("-m", mode, "-w", "-t", Integer.toString(timeoutSeconds), "stop").orThrow();
      running = false;
    }
  }

  /**
   * SIGKILL of the postmaster; returns once it and its children are gone, so that the next
   * start runs crash recovery instead of finding the shared memory still in use.
   */
  void killPostmaster() {
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

  /** Stops the server (immediately if a fast stop fails) and deletes the directories. */
  void close() {
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

  /** See {@link PostgresCluster#runAsPostgres}. */
  CommandResult runAsPostgres(List<String> command) {
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

  /** The last {@code lines} lines of the server log ("" when there is none yet). */
  String logTail(int lines) {
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
}
