package io.pgsidecar.agent.metrics;

import io.pgsidecar.agent.support.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PgStatArchiverPollerTest {
  private static final Path PG_BIN = Path.of(
      Optional.ofNullable(System.getenv("PGSIDECAR_PG_BIN")).orElse("/usr/lib/postgresql/15/bin"));

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static PgsidecarConfig.Postgres postgres(String host, int port) {
    return new PgsidecarConfig.Postgres(host, port, "postgres", "postgres", Optional.empty(), PG_BIN);
  }

  @Test
  void anUnreachableServerReadsAsNotReachable() throws IOException {
    try (AgentMetrics m = new AgentMetrics("db1");
         PgStatArchiverPoller poller = new PgStatArchiverPoller(postgres("127.0.0.1", freePort()), Duration.ofSeconds(2), m)) {
      m.postgresReachable(true);
      assertFalse(poller.pollOnce());
      assertEquals(0, Scrape.parse(m.scrape()).value("pgsidecar_postgres_reachable"));
      assertTrue(poller.last().isEmpty());
    }
  }

  @Test
  void aUnixSocketDirectoryAsHostIsRefusedWithWhatToSet() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new PgStatArchiverPoller(postgres("/var/run/postgresql", 5432), Duration.ofSeconds(2), new AgentMetrics("db1")));
    assertEquals("postgres.host /var/run/postgresql is a unix socket directory, which the JDBC driver"
        + " cannot use; set postgres.host to a TCP address such as 127.0.0.1", e.getMessage());
  }

  /**
   * A real PostgreSQL whose archive_command always fails: the poller mirrors the failures and
   * the insert position, then reports the server unreachable once it stops.
   */
  @Test
  void failuresOfARealArchiveCommandAndTheInsertPositionAreMirrored() throws Exception {
    if (!Files.isExecutable(PG_BIN.resolve("initdb"))) {
      fail("PostgreSQL binaries not found in " + PG_BIN + ": install postgresql-15 (./scripts/test.sh does)");
    }
    Path dir = Files.createTempDirectory("pgsidecar-poller");
    Path data = dir.resolve("data");
    int port = freePort();
    run("chown", "-R", "postgres", dir.toString());
    runAsPostgres(PG_BIN.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "-A", "trust");
    runAsPostgres(PG_BIN.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-l", dir.resolve("log").toString(),
        "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c archive_mode=on"
            + " -c archive_command=false", "start");
    try (AgentMetrics m = new AgentMetrics("db1");
         PgStatArchiverPoller poller = new PgStatArchiverPoller(postgres("127.0.0.1", port), Duration.ofSeconds(5), m)) {
      try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
           Statement st = c.createStatement()) {
        st.execute("create table t as select generate_series(1, 1000) as i");
        st.execute("select pg_switch_wal()");
      }
      Await.quietly(Duration.ofSeconds(30), () -> {
        assertTrue(poller.pollOnce());
        return poller.last().orElseThrow().failedCount() > 0;
      });
      PgStatArchiverPoller.Snapshot s = poller.last().orElseThrow();
      assertTrue(s.failedCount() > 0, "pg_stat_archiver counted no failure of archive_command=false: " + s);
      Scrape scrape = Scrape.parse(m.scrape());
      assertEquals(1, scrape.value("pgsidecar_postgres_reachable"));
      assertEquals(s.failedCount(), scrape.value("pgsidecar_postgres_archiver_failed_total"));
      assertEquals(s.lastFailedTime().orElseThrow().toEpochMilli() / 1000.0,
          scrape.value("pgsidecar_postgres_archiver_last_failed_timestamp_seconds"), 1e-3);
      assertEquals(0, scrape.value("pgsidecar_postgres_archiver_last_archived_timestamp_seconds"));
      assertTrue(s.insertLsn() > 16L * 1024 * 1024, "insert LSN after a segment switch: " + s.insertLsn());
      assertEquals(s.insertLsn(), scrape.value("pgsidecar_postgres_wal_insert_lsn_bytes"));

      runAsPostgres(PG_BIN.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-m", "fast", "stop");
      assertFalse(poller.pollOnce());
      assertEquals(0, Scrape.parse(m.scrape()).value("pgsidecar_postgres_reachable"));
    } finally {
      if (Files.exists(data.resolve("postmaster.pid"))) {
        runAsPostgres(PG_BIN.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-m", "immediate", "stop");
      }
      run("rm", "-rf", dir.toString());
    }
  }

  private static void runAsPostgres(String... command) throws Exception {
    List<String> full = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
    full.addAll(List.of(command));
    run(full.toArray(String[]::new));
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      fail(String.join(" ", command) + " failed:\n" + out);
    }
  }
}
