package io.pgsidecar.agent.postgres;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The environment a PostgreSQL client program started by the agent (pg_basebackup, pg_dump,
 * pg_dumpall, psql, pg_restore) inherits: an allow-list, not the agent's whole environment. The
 * agent's environment holds its secrets (storage keys, SAS tokens, connection strings, the
 * encryption passphrase, {@code AZURE_CLIENT_SECRET}, {@code AWS_SECRET_ACCESS_KEY}...), and a
 * child has no use for them: anything it runs or loads (a {@code .psqlrc}, an extension of a
 * libpq build, a core dump, {@code /proc/<pid>/environ}) would see them.
 *
 * <p>Kept: {@code PATH}, {@code HOME}, {@code USER}, {@code LOGNAME}, {@code LANG},
 * {@code LANGUAGE}, {@code LC_*}, {@code TZ}, {@code TZDIR}, {@code TMPDIR},
 * {@code LD_LIBRARY_PATH}, {@code SSL_CERT_FILE} and {@code SSL_CERT_DIR} (sslrootcert=system), Kerberos' {@code KRB5*} (GSSAPI authentication) and libpq's own
 * {@code PG*} variables (PGHOST, PGPASSFILE, PGSSLMODE, ... and PGPASSWORD: the agent's own
 * server may need it), except the agent's {@code PGSIDECAR_*}. Whatever the connection sets
 * ({@link PgConnection#applyTo}) is added afterwards.
 */
public final class ChildEnvironment {

  private static final Set<String> KEPT = Set.of("PATH", "HOME", "USER", "LOGNAME", "LANG",
      "LANGUAGE", "TZ", "TZDIR", "TMPDIR", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR");

  private ChildEnvironment() {}

  /** Removes from {@code env} (a {@code ProcessBuilder}'s environment) every variable not kept. */
  public static void scrub(Map<String, String> env) {
    env.keySet().removeIf(name -> !kept(name));
  }

  /** Whether a child may inherit the variable {@code name}. */
  static boolean kept(String name) {
    if (KEPT.contains(name) || name.startsWith("LC_") || name.startsWith("KRB5")) {
      return true;
    }
    String upper = name.toUpperCase(Locale.ROOT);
    return name.startsWith("PG") && !upper.startsWith("PGSIDECAR");
  }
}
