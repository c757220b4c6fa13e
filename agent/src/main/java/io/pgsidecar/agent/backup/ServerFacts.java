package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.postgres.PgConnection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the server says about itself before a base backup, read with one psql call: the facts
 * the backup records (system identifier, version, segment size) and its safety check (no extra
 * tablespaces, which {@code pg_basebackup -D -} refuses).
 */
record ServerFacts(String systemIdentifier, int serverVersionNum, long walSegmentSize,
    List<String> extraTablespaces) {

  private static final String SQL = "SELECT (SELECT system_identifier FROM pg_control_system()),"
      + " current_setting('server_version_num'),"
      + " (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'),"
      + " coalesce((SELECT string_agg(spcname, ',' ORDER BY spcname) FROM pg_tablespace"
      + " WHERE spcname NOT IN ('pg_default', 'pg_global')), '')";

  /** @throws IOException naming psql's error when the server cannot be queried */
  static ServerFacts read(Path psql, PgConnection pg) throws IOException {
    var pb = new ProcessBuilder(psql.toString(), "--no-password", "-X", "-A", "-t", "-q",
        "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", SQL).redirectErrorStream(true);
    pg.applyTo(pb.environment());
    Process p = pb.start();
    p.getOutputStream().close();
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
}
