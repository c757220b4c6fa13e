package io.pgsidecar.agent.postgres;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * How a PostgreSQL client tool (pg_dump, pg_restore, psql) reaches a server, expressed as libpq
 * environment variables for the child process. The password only ever travels in the child's
 * environment ({@code PGPASSWORD}), never on a command line, where {@code ps} would show it.
 * Empty values are left to libpq's own defaults.
 *
 * @param host host name or socket directory ({@code PGHOST}); "" for libpq's default
 * @param port port, 0 for libpq's default
 * @param user role name ({@code PGUSER}); "" for libpq's default
 * @param database database to connect to ({@code PGDATABASE}); "" for libpq's default
 * @param password the password, when one is needed
 * @param options further libpq variables such as {@code PGSSLMODE}
 */
public record PgConnection(String host, int port, String user, String database,
    Optional<String> password, Map<String, String> options) {

  /** Query parameters of a connection URL and the libpq variable each one maps to. */
  private static final Map<String, String> URL_PARAMETERS = Map.of(
      "sslmode", "PGSSLMODE",
      "sslrootcert", "PGSSLROOTCERT",
      "sslcert", "PGSSLCERT",
      "sslkey", "PGSSLKEY",
      "connect_timeout", "PGCONNECT_TIMEOUT",
      "application_name", "PGAPPNAME",
      "host", "PGHOST",
      "port", "PGPORT",
      "user", "PGUSER",
      "password", "PGPASSWORD");

  public PgConnection {
    host = host == null ? "" : host;
    user = user == null ? "" : user;
    database = database == null ? "" : database;
    password = password == null ? Optional.empty() : password;
    options = options == null ? Map.of() : Map.copyOf(options);
  }

  /**
   * The agent's own server from {@code postgres.*}: {@code passwordFile} is a .pgpass-format file
   * ({@code PGPASSFILE}), {@code password} the password itself ({@code PGPASSWORD}); when both are
   * unset the agent's own PGPASSFILE / PGPASSWORD apply, as for any libpq program.
   */
  public static PgConnection fromConfig(io.pgsidecar.core.config.PgsidecarConfig.Postgres pg)
      throws IOException {
    Map<String, String> options = new LinkedHashMap<>();
    if (pg.passwordFile().isPresent()) {
      Path file = pg.passwordFile().get();
      if (!Files.isReadable(file)) {
        throw new IOException("cannot read the PostgreSQL password file " + file
            + " (postgres.password-file or PGSIDECAR_POSTGRES_PASSWORD_FILE, .pgpass format); check the Secret mount and its permissions");
      }
      options.put("PGPASSFILE", file.toString());
    }
    return new PgConnection(pg.host(), pg.port(), pg.user(), pg.database(), pg.password(), options);
  }

  /**
   * Parses {@code postgresql://user:password@host:port/database?sslmode=require}. The password in
   * the URL moves to {@code PGPASSWORD}; a missing one falls back to PGPASSWORD / PGPASSFILE of
   * the calling process like libpq does.
   */
  public static PgConnection fromUrl(String url) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("target " + redact(url)
          + " is not a connection URL; expected postgresql://user[:password]@host[:port]/database", e);
    }
    if (!"postgresql".equals(uri.getScheme()) && !"postgres".equals(uri.getScheme())) {
      throw new IllegalArgumentException("target " + redact(url)
          + " is not a connection URL; expected postgresql://user[:password]@host[:port]/database");
    }
    String user = "";
    Optional<String> password = Optional.empty();
    String userInfo = uri.getRawUserInfo();
    if (userInfo != null) {
      int colon = userInfo.indexOf(':');
      user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
      if (colon >= 0) {
        password = Optional.of(decode(userInfo.substring(colon + 1)));
      }
    }
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    String database = decode(path.startsWith("/") ? path.substring(1) : path);
    Map<String, String> options = new LinkedHashMap<>();
    String host = uri.getHost() == null ? "" : uri.getHost();
    int port = Math.max(uri.getPort(), 0);
    if (uri.getRawQuery() != null) {
      for (String pair : uri.getRawQuery().split("&")) {
        int eq = pair.indexOf('=');
        String name = decode(eq < 0 ? pair : pair.substring(0, eq));
        String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
        String variable = URL_PARAMETERS.get(name);
        if (variable == null) {
          throw new IllegalArgumentException("target URL parameter '" + name
              + "' is not supported; supported: " + new java.util.TreeSet<>(URL_PARAMETERS.keySet()));
        }
        switch (name) {
          case "host" -> host = value;
          case "port" -> port = Integer.parseInt(value);
          case "user" -> user = value;
          case "password" -> password = Optional.of(value);
          default -> options.put(variable, value);
        }
      }
    }
    return new PgConnection(host, port, user, database, password, options);
  }

  /** No connection at all: for tools that only read an archive ({@code pg_restore --list}). */
  public static PgConnection local() {
    return new PgConnection("", 0, "", "", Optional.empty(), Map.of());
  }

  /** The same server, another database. */
  public PgConnection withDatabase(String otherDatabase) {
    return new PgConnection(host, port, user, otherDatabase, password, options);
  }

  /**
   * Makes {@code env} (a child's environment, a copy of the agent's) what a PostgreSQL client
   * program needs: the agent's secrets removed ({@link ChildEnvironment}), this connection added.
   */
  public void applyTo(Map<String, String> env) {
    ChildEnvironment.scrub(env);
    env.putAll(options);
    if (!host.isEmpty()) {
      env.put("PGHOST", host);
    }
    if (port > 0) {
      env.put("PGPORT", Integer.toString(port));
    }
    if (!user.isEmpty()) {
      env.put("PGUSER", user);
    }
    if (!database.isEmpty()) {
      env.put("PGDATABASE", database);
    }
    password.ifPresent(p -> env.put("PGPASSWORD", p));
  }

  /** For messages: never shows the password. */
  public String describe() {
    return (user.isEmpty() ? "" : user + "@") + (host.isEmpty() ? "(default host)" : host)
        + (port > 0 ? ":" + port : "") + "/" + database;
  }

  @Override
  public String toString() {
    return describe();
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  /** Hides the password of a URL for error messages. */
  static String redact(String url) {
    return url.replaceAll("(://[^:/@]*):[^@]*@", "$1:***@");
  }
}
