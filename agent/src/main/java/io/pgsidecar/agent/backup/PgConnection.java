package io.pgsidecar.agent.backup;

import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * How the backup reaches PostgreSQL with its own client programs (pg_basebackup, psql), so both
 * see the same host, port, user and password as libpq would. The password travels only in the
 * child's environment ({@code PGPASSWORD}), never on a command line or in a log line. Unset
 * values are left to libpq's own PG* environment variables.
 */
final class PgConnection {

  private final PgsidecarConfig.Postgres config;

  PgConnection(PgsidecarConfig.Postgres config) {
    this.config = config;
  }

  Path program(String name) {
    return config.binDir() == null ? Path.of(name) : config.binDir().resolve(name);
  }

  /** {@code -h/-p/-U} for what is configured; never a password. */
  List<String> connectionArgs() {
    var args = new ArrayList<String>();
    if (config.host() != null && !config.host().isBlank()) {
      args.add("--host=" + config.host());
    }
    if (config.port() > 0) {
      args.add("--port=" + config.port());
    }
    if (config.user() != null && !config.user().isBlank()) {
      args.add("--username=" + config.user());
    }
    args.add("--no-password");
    return args;
  }

  /**
   * Puts the credentials into a child's environment, as docs/configuration.md defines them:
   * {@code postgres.passwordFile} is a .pgpass-format file ({@code PGPASSFILE}), {@code
   * postgres.password} the password itself ({@code PGPASSWORD}). Otherwise the agent's own
   * PGPASSFILE / PGPASSWORD, inherited, apply as for any libpq program.
   */
  void applyEnv(Map<String, String> env) throws IOException {
    if (config.passwordFile() != null && config.passwordFile().isPresent()) {
      Path file = config.passwordFile().get();
      if (!Files.isReadable(file)) {
        throw new IOException("cannot read the PostgreSQL password file " + file
            + " (postgres.passwordFile, .pgpass format); check the Secret mount and its permissions");
      }
      env.put("PGPASSFILE", file.toString());
    }
    if (config.password() != null && config.password().isPresent()) {
      env.put("PGPASSWORD", config.password().get());
    }
  }

  /**
   * The facts the backup records and its safety checks need, read with one psql call.
   *
   * @throws IOException naming psql's error when the server cannot be queried
   */
  ServerFacts serverFacts() throws IOException {
    String sql = "SELECT (SELECT system_identifier FROM pg_control_system()),"
        + " current_setting('server_version_num'),"
        + " (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'),"
        + " coalesce((SELECT string_agg(spcname, ',' ORDER BY spcname) FROM pg_tablespace"
        + " WHERE spcname NOT IN ('pg_default', 'pg_global')), '')";
    var cmd = new ArrayList<String>();
    cmd.add(program("psql").toString());
    cmd.addAll(connectionArgs());
    if (config.database() != null && !config.database().isBlank()) {
      cmd.add("--dbname=" + config.database());
    }
    cmd.addAll(List.of("-X", "-A", "-t", "-q", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql));
    var pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    applyEnv(pb.environment());
    Process p = pb.start();
    String out;
    try (var in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
    }
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("psql did not finish within 60 s while reading server facts");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while reading server facts", e);
    }
    if (p.exitValue() != 0) {
      throw new IOException("cannot query PostgreSQL before the backup (psql exit "
          + p.exitValue() + "): " + out + "; check postgres.host/port/user and the password");
    }
    String[] f = out.split("\\|", -1);
    if (f.length != 4) {
      throw new IOException("unexpected answer from psql while reading server facts: " + out);
    }
    List<String> tablespaces = f[3].isEmpty() ? List.of() : List.of(f[3].split(","));
    return new ServerFacts(f[0], Integer.parseInt(f[1]), Long.parseLong(f[2]), tablespaces);
  }

  /** What the server says about itself before a backup. */
  record ServerFacts(String systemIdentifier, int serverVersionNum, long walSegmentSize,
      List<String> extraTablespaces) {}
}
