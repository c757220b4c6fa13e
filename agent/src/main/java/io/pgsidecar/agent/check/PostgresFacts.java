package io.pgsidecar.agent.check;

import io.pgsidecar.agent.postgres.PgConnection;
import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code pgsidecar check} asks PostgreSQL, through {@code psql} from {@code postgres.bin-dir}
 * (it reaches a unix socket directory as well as a TCP host, which the JDBC driver does not),
 * with a 10 s connect timeout. The connection settings and password go through the child's
 * environment only ({@link PgConnection}).
 */
public class PostgresFacts {

  /** One field separator that no setting holds (and that is not white space, as U+001F is). */
  private static final String SEP = "\u0001";

  /** What the check needs to know of the server. */
  public record Server(String systemIdentifier, String version, boolean inRecovery,
      String archiveMode, String archiveCommand) {}

  private final PgTool tool;
  private final PgConnection connection;

  PostgresFacts(PgTool tool, PgConnection connection) {
    this.tool = tool;
    this.connection = connection;
  }

  /** The agent's own server, from {@code postgres.*}. */
  public static PostgresFacts forConfig(PgsidecarConfig.Postgres pg) throws IOException {
    PgConnection c = PgConnection.fromConfig(pg);
    Map<String, String> options = new LinkedHashMap<>(c.options());
    options.putIfAbsent("PGCONNECT_TIMEOUT", "10");
    return new PostgresFacts(new PgTool(pg.binDir()), new PgConnection(c.host(), c.port(), c.user(),
        c.database(), c.password(), options));
  }

  /** @throws IOException with psql's own words when the server cannot be queried */
  public Server server() throws IOException {
    String[] f = query("SELECT (SELECT system_identifier FROM pg_control_system()),"
        + " current_setting('server_version'), pg_is_in_recovery(),"
        + " current_setting('archive_mode'), current_setting('archive_command')", 5);
    return new Server(f[0], f[1], f[2].equals("t"), f[3], f[4]);
  }

  /**
   * Writes a restore point (so that there is WAL to switch away from, as pgBackRest's check
   * does), then closes the current segment; returns the closed segment's name.
   */
  public String switchWal() throws IOException {
    String out = tool.run("psql", connection, List.of("--no-password", "-X", "-A", "-t", "-q",
        "-v", "ON_ERROR_STOP=1", "-c", "SELECT pg_create_restore_point('pgsidecar check')",
        "-c", "SELECT pg_walfile_name(pg_switch_wal())"), "switching the WAL segment").strip();
    String name = out.substring(out.lastIndexOf('\n') + 1).strip();
    if (!CheckService.isSegment(name)) {
      throw new IOException("pg_walfile_name(pg_switch_wal()) answered '" + name
          + "', not a WAL segment name");
    }
    return name;
  }

  /** {@code pg_stat_archiver}'s last failure ("failed_count 3, last failed ... at ..."), if any. */
  public Optional<String> lastArchiveFailure() throws IOException {
    String[] f = query("SELECT failed_count, coalesce(last_failed_wal, ''),"
        + " coalesce(last_failed_time::text, ''), coalesce(last_archived_wal, '')"
        + " FROM pg_stat_archiver", 4);
    if (f[0].equals("0")) {
      return Optional.of("no failure, last archived " + (f[3].isEmpty() ? "none" : f[3]));
    }
    return Optional.of("failed_count " + f[0] + ", last failed " + f[1] + " at " + f[2]
        + ", last archived " + (f[3].isEmpty() ? "none" : f[3]));
  }

  private String[] query(String sql, int fields) throws IOException {
    String out = tool.run("psql", connection, List.of("--no-password", "-X", "-A", "-t", "-q",
        "-F", SEP, "-v", "ON_ERROR_STOP=1", "-c", sql), "querying the server");
    // only the record's newline goes: a setting may end in white space
    out = out.endsWith("\n") ? out.substring(0, out.length() - 1) : out;
    String[] f = out.split(SEP, -1);
    if (f.length != fields) {
      throw new IOException("unexpected answer from psql: " + out);
    }
    return f;
  }
}
