package io.pgsidecar.agent.metrics;

import io.pgsidecar.agent.support.Await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.walarchiver.WalArchiver;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7 with real components only: the agent runs as its own process from a YAML file
 * ({@code pgsidecar --config FILE agent}: fs storage, metrics on a free port), beside a real
 * PostgreSQL 15 whose archive_command is the real wal-archiver. The test reads what an operator
 * and Prometheus would read, over HTTP: {@code /metrics}, {@code /readyz}, {@code /v1/status}.
 * WAL from pgbench moves the push counters and the last-archived time, a base backup taken
 * through the API sets its last success and leaves {@code running} at 0, the {@code .ready}
 * backlog returns to 0, a storage outage shows as storage errors and a 503 from {@code /readyz}
 * naming storage, and every metric the alert rules and the dashboard use is in the real scrape.
 */
class ObservabilityWithRealAgentTest {

  @TempDir Path work;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  int metricsPort;
  Process agent;

  @Test
  void metricsReadinessAndStatusFollowWhatTheRealAgentDoes() throws Exception {
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path socket = work.resolve("run/agent.sock");
    Path repo = work.resolve("repo");
    Files.createDirectories(repo);
    String walArchiver = String.join(" ", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp",
        Path.of(WalArchiver.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString(),
        WalArchiver.class.getName(), "--socket", socket.toString());
    try (PostgresCluster pg = PostgresCluster.builder()
        .setting("archive_mode", "on")
        .setting("archive_command", walArchiver + " push %p")
        .build()) {
      pg.start();
      startAgent(pg, socket, repo);
      try {
        // 1. WAL from pgbench: pushes counted, last archived time set
        pg.pgbench("-i", "-s", "2");
        pg.awaitArchived(pg.switchWal(), Duration.ofSeconds(120));
        Scrape afterLoad = scrape();
        double pushedOk = afterLoad.value("pgsidecar_wal_pushes_total", "result", "ok");
        assertTrue(pushedOk >= 2, "pushes ok after pgbench -i: " + pushedOk);
        assertTrue(afterLoad.value("pgsidecar_wal_last_archived_timestamp_seconds") > 0);
        assertTrue(afterLoad.value("pgsidecar_wal_pushed_stored_bytes_total") > 0);

        // 2. a base backup through the HTTP API
        UnixHttp.Response started = UnixHttp.post(admin(socket), "/v1/backups", "{\"label\":\"obs\"}");
        assertEquals(202, started.status(), started.text());
        String id = new JsonObject(started.text()).getString("id");
        double[] runningSeen = {0};
        var polled = new java.util.concurrent.atomic.AtomicReference<UnixHttp.Response>();
        Await.quietly(Duration.ofSeconds(180), () -> {
          polled.set(UnixHttp.get(admin(socket), "/v1/backups/" + id));
          if (polled.get().status() != 202) {
            return true;
          }
          runningSeen[0] = Math.max(runningSeen[0],
              scrape().value("pgsidecar_backup_running", "kind", "base"));
          return false;
        });
        UnixHttp.Response shown = polled.get();
        assertEquals(200, shown.status(), shown.text());
        Scrape afterBackup = scrape();
        assertTrue(afterBackup.value("pgsidecar_backup_last_success_timestamp_seconds", "kind", "base") > 0);
        assertEquals(0, afterBackup.value("pgsidecar_backup_running", "kind", "base"));
        assertEquals(1, afterBackup.value("pgsidecar_backup_runs_total", "kind", "base", "result", "ok"));
        assertTrue(afterBackup.value("pgsidecar_backup_last_stored_size_bytes", "kind", "base") > 0);
        assertTrue(runningSeen[0] <= 1, "running gauge is 0 or 1: " + runningSeen[0]);
        awaitTrue("retained base backups = 1 and a recoverable window", () -> {
          Scrape s = scrape();
          return s.value("pgsidecar_backup_retained", "kind", "base") == 1
              && s.value("pgsidecar_recoverability_first_timestamp_seconds") > 0;
        });
        assertTrue(scrape().value("pgsidecar_wal_pushes_total", "result", "ok") > pushedOk);

        // 3. the backlog returns to 0 once PostgreSQL has nothing left to archive
        awaitTrue(".ready backlog back to 0", () -> scrape().value("pgsidecar_wal_ready_segments") == 0);
        JsonObject status = new JsonObject(UnixHttp.get(admin(socket), "/v1/status").text());
        assertEquals("db1", status.getString("cluster"));
        assertNotNull(status.getJsonObject("wal").getString("lastArchivedSegment"), status.encode());
        assertEquals(0, status.getJsonObject("wal").getInteger("readyBacklog"), status.encode());
        assertEquals(id, status.getJsonObject("backups").getJsonObject("last").getString("id"));
        assertEquals("success", status.getJsonObject("backups").getJsonObject("last").getString("result"));
        assertEquals(id, status.getJsonObject("recoverable").getString("firstBackup"), status.encode());
        assertEquals(200, get("/readyz").statusCode());

        // 4. storage outage: the repository's directory is gone (root ignores file modes)
        double errorsBefore = storageErrors(scrape());
        Path away = work.resolve("repo.away");
        Files.move(repo, away);
        Files.writeString(repo, "not a directory");
        pg.sql("CREATE TABLE outage AS SELECT g FROM generate_series(1, 1000) g");
        pg.switchWal();
        awaitTrue("/readyz answers 503 naming storage", () -> get("/readyz").statusCode() == 503);
        JsonObject notReady = new JsonObject(get("/readyz").body());
        assertEquals("not ready", notReady.getString("status"));
        String why = notReady.getJsonObject("checks").getString("storage");
        // the path is in the agent's log, never in the body (the metrics port answers anyone)
        assertEquals("storage is not reachable (details in the agent's log)", why);
        assertTrue(Files.readString(work.resolve("agent.log")).contains("readiness check 'storage'"
            + " fails: storage file://" + repo + " is not reachable: "), "agent.log names the cause");
        assertEquals("ok", notReady.getJsonObject("checks").getString("postgres"));
        awaitTrue("storage errors rise", () -> storageErrors(scrape()) > errorsBefore);
        assertTrue(scrape().value("pgsidecar_wal_pushes_total", "result", "error") > 0);
        JsonObject during = new JsonObject(UnixHttp.get(admin(socket), "/v1/status").text());
        assertTrue(during.getJsonArray("errors").size() > 0, during.encode());

        // 5. storage back: ready again, archiving catches up
        Files.delete(repo);
        Files.move(away, repo);
        awaitTrue("/readyz back to 200", () -> get("/readyz").statusCode() == 200);
        pg.sql("INSERT INTO outage VALUES (0)");
        pg.awaitArchived(pg.switchWal(), Duration.ofSeconds(150));

        // 6. every name the alert rules and the dashboard use is in the real scrape
        Scrape last = scrape();
        assertEquals(Set.of(), MetricNames.missingFrom(last,
            MetricNames.ruleExpressions(RepoFiles.file("dashboards/alerts.yml"))),
            "used by dashboards/alerts.yml, absent from the running agent's /metrics");
        assertEquals(Set.of(), MetricNames.missingFrom(last,
            MetricNames.dashboardExpressions(RepoFiles.file("dashboards/pgsidecar.json"))),
            "used by dashboards/pgsidecar.json, absent from the running agent's /metrics");
        assertEquals(1, last.value("pgsidecar_postgres_reachable"));
      } catch (AssertionError | Exception e) {
        throw new AssertionError(e.getMessage() + "\n--- agent log ---\n" + tail(work.resolve("agent.log"))
            + "\n--- postgres log ---\n" + pg.logTail(30), e);
      } finally {
        stopAgent(socket);
      }
    }
  }

  /** The admin socket (backups, status) beside the hook socket PostgreSQL uses. */
  private static Path admin(Path socket) {
    return socket.resolveSibling("admin.sock");
  }

  private void startAgent(PostgresCluster pg, Path socket, Path repo) throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      metricsPort = s.getLocalPort();
    }
    Path yaml = Files.writeString(work.resolve("pgsidecar.yaml"), """
        cluster: db1
        pgdata: %s
        socket: %s
        http:
          admin-socket: %s
        postgres:
          host: 127.0.0.1
          port: %d
          user: postgres
          bin-dir: %s
        storage:
          type: fs
          prefix: prod
          path: %s
          timeout: 10s
          retries: 1
        wal:
          spool-dir: %s
        metrics:
          host: 127.0.0.1
          port: %d
        """.formatted(pg.pgdata(), socket, admin(socket), pg.port(), pg.binDir(), repo, work.resolve("spool"),
        metricsPort));
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        "io.pgsidecar.agent.cli.Main", "--config", yaml.toString(), "agent")
        .redirectErrorStream(true).redirectOutput(work.resolve("agent.log").toFile())
        .directory(Files.createDirectories(work.resolve("cwd")).toFile());
    // the agent refuses PGSIDECAR_* variables it does not know, and would take PG* as fallbacks
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG"));
    agent = pb.start();
    awaitTrue("the agent answers /healthz on the metrics port", () -> {
      if (!agent.isAlive()) {
        throw new AssertionError("the agent exited with " + agent.exitValue());
      }
      return get("/healthz").statusCode() == 200;
    });
    // PostgreSQL's archive_command runs as postgres; in a pod both share one uid
    Files.setOwner(socket, socket.getFileSystem().getUserPrincipalLookupService()
        .lookupPrincipalByName("postgres"));
  }

  private void stopAgent(Path socket) throws InterruptedException {
    if (agent == null) {
      return;
    }
    agent.destroy(); // SIGTERM: graceful shutdown
    if (!agent.waitFor(60, TimeUnit.SECONDS)) {
      agent.destroyForcibly();
      agent.waitFor(10, TimeUnit.SECONDS);
      throw new AssertionError("the agent did not stop within 60 s of SIGTERM");
    }
    assertTrue(Files.notExists(socket), "the agent removes its socket on shutdown");
    try (var left = Files.list(work.resolve("cwd"))) {
      // in a pod the working directory may be read-only: nothing may be written there
      assertEquals(List.of(), left.toList(), "files the agent left in its working directory");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private HttpResponse<String> get(String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + path))
          .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private Scrape scrape() {
    HttpResponse<String> r = get("/metrics");
    assertEquals(200, r.statusCode(), r.body());
    return Scrape.parse(r.body());
  }

  private static double storageErrors(Scrape s) {
    return s.samples().stream().filter(x -> x.name().equals("pgsidecar_storage_requests_total")
        && "error".equals(x.labels().get("result"))).mapToDouble(Scrape.Sample::value).sum();
  }

  private static void awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
    Await.until(what, Duration.ofSeconds(60), () -> {
      try {
        return condition.getAsBoolean();
      } catch (java.io.UncheckedIOException e) {
        return false; // not listening yet
      }
    });
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }
}
