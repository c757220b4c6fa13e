package io.pgsidecar.agent.verify;

import io.pgsidecar.core.job.JobException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A PostgreSQL server started on a restored scratch data directory, reachable only through a
 * socket in a private directory: {@code listen_addresses = ''}, its own {@code pg_hba.conf}
 * (local trust: only the scratch directory's owner can reach the 0700 socket directory),
 * {@code archive_mode = off} (a drill must never archive into the repository: its promotion would
 * write a new timeline beside the real one), no {@code primary_conninfo}, {@code hot_standby = on}
 * so that a probe can read once the data is consistent. These lines go last into
 * {@code postgresql.auto.conf}, after the restore's recovery settings, so they win over whatever
 * the backed-up server had configured.
 */
final class ScratchServer implements AutoCloseable {

  private final Programs programs;
  private final Path data;
  private final Path socketDir;
  private final Path log;
  private final Duration timeout;
  private final String user;
  private boolean started;

  /** @param user the role the probe connects as (it must exist in the backed-up server) */
  ScratchServer(Programs programs, Path data, Path socketDir, Path log, Duration timeout,
      String user) {
    this.programs = programs;
    this.user = user;
    this.data = data;
    this.socketDir = socketDir;
    this.log = log;
    this.timeout = timeout;
  }

  /** Writes the private settings and the scratch {@code pg_hba.conf}. */
  void configure() throws IOException {
    Path hba = socketDir.resolveSibling("pg_hba.conf");
    Path ident = socketDir.resolveSibling("pg_ident.conf");
    Files.writeString(hba, "# scratch server of pgsidecar verify: local socket only\n"
        + "local all all trust\n");
    Files.writeString(ident, "");
    Path conf = data.resolve("postgresql.conf");
    if (!Files.exists(conf)) {
      Files.writeString(conf, ""); // Debian keeps it in /etc: the backup has none
    }
    Files.writeString(data.resolve("postgresql.auto.conf"), "\n# pgsidecar verify: private"
        + " scratch server\n"
        + "listen_addresses = ''\n"
        + "unix_socket_directories = " + quote(socketDir) + "\n"
        + "port = 5432\n"
        + "hba_file = " + quote(hba) + "\n"
        + "ident_file = " + quote(ident) + "\n"
        + "archive_mode = off\n"
        + "primary_conninfo = ''\n"
        + "primary_slot_name = ''\n"
        + "hot_standby = on\n"
        + "logging_collector = off\n"
        + "ssl = off\n",
        StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }

  /** A path as a configuration-file string: in single quotes, a quote doubled. */
  static String quote(Path p) {
    return "'" + p.toString().replace("'", "''") + "'";
  }

  /** Starts the server and waits until it accepts connections (reached consistency). */
  void start() {
    String socket = socketDir.resolve(".s.PGSQL.5432").toString();
    if (socket.getBytes(StandardCharsets.UTF_8).length > 107) {
      throw new JobException(JobException.Kind.FAILED, "the scratch server's socket " + socket
          + " is longer than the 107 bytes a unix socket path may have; set verify.work-dir to a"
          + " shorter path", null);
    }
    started = true;
    Programs.Outcome o = programs.run("pg_ctl", List.of("-D", data.toString(), "-l",
        log.toString(), "-w", "-t", Long.toString(timeout.toSeconds()), "start"), Map.of(),
        timeout.plusSeconds(30));
    if (o.exitCode() != 0) {
      throw new JobException(JobException.Kind.VERIFICATION_FAILED, "the restored backup did not"
          + " start: pg_ctl said " + o.said() + "; the server log ends with: " + logTail(), null);
    }
  }

  /** Waits until replay stopped at the recovery target (the pause the restore asked for). */
  void awaitTargetReached() {
    Instant deadline = Instant.now().plus(timeout);
    while (true) {
      Programs.Outcome o = psql("SELECT pg_get_wal_replay_pause_state()");
      String state = o.stdout().strip();
      if (o.exitCode() == 0 && state.equals("paused")) {
        return;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new JobException(JobException.Kind.VERIFICATION_FAILED, "the restored backup did not"
            + " reach its recovery target within " + timeout.toSeconds() + " s (replay state '"
            + state + "'" + (o.exitCode() == 0 ? "" : ", psql said " + o.said())
            + "); the server log ends with: " + logTail(), null);
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new JobException(JobException.Kind.FAILED, "interrupted while waiting for the"
            + " restored server", e);
      }
    }
  }

  /** Runs {@code sql} in {@code database}; fails naming the query. */
  String query(String database, String sql) {
    Programs.Outcome o = programs.run("psql", List.of("-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
        "-h", socketDir.toString(), "-p", "5432", "-U", user, "-d", database, "-c", sql), Map.of(),
        timeout);
    if (o.exitCode() != 0) {
      throw new JobException(JobException.Kind.VERIFICATION_FAILED, "the probe query '" + sql
          + "' failed on the restored backup: " + o.said(), null);
    }
    return o.stdout().strip();
  }

  private Programs.Outcome psql(String sql) {
    return programs.run("psql", List.of("-X", "-A", "-t", "-h", socketDir.toString(), "-p",
        "5432", "-U", user, "-d", "postgres", "-c", sql), Map.of(), timeout);
  }

  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 8), lines.size())).strip();
    } catch (IOException e) {
      return "(no server log: " + e.getMessage() + ")";
    }
  }

  /** Stops the server (fast, then immediate); never throws, the scratch directory goes next. */
  @Override
  public void close() {
    if (!started || !Files.exists(data.resolve("postmaster.pid"))) {
      return;
    }
    Programs.Outcome o = programs.run("pg_ctl", List.of("-D", data.toString(), "-m", "fast", "-w",
        "-t", "60", "stop"), Map.of(), Duration.ofSeconds(90));
    if (o.exitCode() != 0 && Files.exists(data.resolve("postmaster.pid"))) {
      programs.run("pg_ctl", List.of("-D", data.toString(), "-m", "immediate", "-w", "stop"),
          Map.of(), Duration.ofSeconds(60));
    }
  }
}
