package io.pgsidecar.agent.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PgConnectionTest {

  @Test
  void urlPasswordGoesToPgpasswordAndNeverIntoDescriptions() {
    PgConnection c = PgConnection.fromUrl("postgresql://admin:p%40ss@db.example:6432/postgres?sslmode=require");
    Map<String, String> env = new HashMap<>();
    c.applyTo(env);
    assertEquals(Map.of("PGHOST", "db.example", "PGPORT", "6432", "PGUSER", "admin",
        "PGDATABASE", "postgres", "PGPASSWORD", "p@ss", "PGSSLMODE", "require"), env);
    assertEquals("admin@db.example:6432/postgres", c.describe());
    assertFalse(c.toString().contains("p@ss"));
  }

  @Test
  void urlWithoutPasswordLeavesItToLibpq() {
    PgConnection c = PgConnection.fromUrl("postgres://u@127.0.0.1/");
    assertEquals(Optional.empty(), c.password());
    assertEquals("", c.database());
    Map<String, String> env = new HashMap<>();
    c.applyTo(env);
    assertEquals(Map.of("PGHOST", "127.0.0.1", "PGUSER", "u"), env);
  }

  @Test
  void foreignUrlsAndUnknownParametersAreRefusedWithoutShowingThePassword() {
    IllegalArgumentException scheme = assertThrows(IllegalArgumentException.class,
        () -> PgConnection.fromUrl("mysql://u:secret@h/db"));
    assertEquals("target mysql://u:***@h/db is not a connection URL; expected"
        + " postgresql://user[:password]@host[:port]/database", scheme.getMessage());
    IllegalArgumentException param = assertThrows(IllegalArgumentException.class,
        () -> PgConnection.fromUrl("postgresql://h/db?options=-c%20x"));
    assertEquals("target URL parameter 'options' is not supported; supported: [application_name,"
        + " connect_timeout, host, password, port, sslcert, sslkey, sslmode, sslrootcert, user]",
        param.getMessage());
  }
}
