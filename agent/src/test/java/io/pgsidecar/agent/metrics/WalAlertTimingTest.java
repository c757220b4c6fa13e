package io.pgsidecar.agent.metrics;

import io.pgsidecar.agent.support.Await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.FaultProxy;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.walarchiver.WalArchiver;
import io.vertx.core.json.JsonArray;
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
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The WAL alert end to end, with the real things an operator runs: PostgreSQL 15 under write
 * load archiving through the real wal-archiver into the real agent (its own process, default
 * retry settings), Azure storage (Azurite behind a {@link FaultProxy}), and a real Prometheus
 * scraping the agent every second and evaluating the project's own dashboards/alerts.yml. The
 * storage dies (the proxy refuses every connection); {@code PgsidecarWalArchivingFailing} must
 * be pending within two minutes. Before the one retry layer, four minutes of dead storage left
 * it silent: a push retried 36 times and never answered, so no counter moved.
 */
class WalAlertTimingTest {

  /** Pushes give up within storage.retry.push-deadline (60 s), then one scrape and evaluation. */
  static final Duration PENDING_WITHIN = Duration.ofSeconds(120);
  static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");

  @TempDir Path work;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void deadStorageUnderWriteLoadMakesTheWalAlertPendingWithinTwoMinutes() throws Exception {
    assertTrue(Files.isExecutable(PROMETHEUS), PROMETHEUS + " is missing: apt-get install"
        + " prometheus (scripts/test.sh does)");
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path socket = work.resolve("run/agent.sock");
    String walArchiver = String.join(" ", Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp",
        Path.of(WalArchiver.class.getProtectionDomain().getCodeSource().getLocation().toURI())
            .toString(), WalArchiver.class.getName(), "--socket", socket.toString());
    Process agent = null;
    Process prometheus = null;
    AtomicBoolean writing = new AtomicBoolean(true);
    try (Azurite azurite = Azurite.launch(); FaultProxy proxy = FaultProxy.to(azurite.port());
        PostgresCluster pg = PostgresCluster.builder().setting("archive_mode", "on")
            .setting("archive_command", walArchiver + " push %p").build()) {
      pg.start();
      int metricsPort = freePort();
      agent = startAgent(pg, socket, azurite, proxy, metricsPort);
      int promPort = freePort();
      prometheus = startPrometheus(metricsPort, promPort);
      Thread load = Thread.ofPlatform().name("write-load").start(() -> {
        pg.sql("CREATE TABLE load (id bigserial, pad text)");
        while (writing.get()) {
          pg.sql("INSERT INTO load (pad) SELECT repeat('x', 200) FROM generate_series(1, 2000)");
          pg.sql("SELECT pg_switch_wal()");
          sleep(500);
        }
      });
      try {
        awaitTrue("archiving works and Prometheus scrapes the agent", Duration.ofSeconds(120),
            () -> query(promPort, "sum(pgsidecar_wal_pushes_total{result=\"ok\"})") >= 3);
        awaitTrue("no WAL alert while storage is up", Duration.ofSeconds(60),
            () -> walAlertState(promPort).isEmpty());

        proxy.refuse(true);
        long dead = System.nanoTime();
        awaitTrue("PgsidecarWalArchivingFailing pending or firing", PENDING_WITHIN,
            () -> walAlertState(promPort).isPresent());
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - dead);
        System.out.println("PgsidecarWalArchivingFailing " + walAlertState(promPort).orElseThrow()
            + " " + seconds + " s after the storage died");
        assertTrue(query(promPort, "sum(pgsidecar_storage_retries_exhausted_total)") > 0,
            "give-ups are counted");
        // archive_command gives up within storage.retry.push-deadline (60 s): PostgreSQL counts it
        awaitTrue("pg_stat_archiver.failed_count moves", Duration.ofSeconds(90),
            () -> pg.sqlLong("SELECT failed_count FROM pg_stat_archiver") > 0);
        System.out.println("pg_stat_archiver.failed_count > 0 "
            + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - dead) + " s after the storage died");
      } catch (AssertionError | Exception e) {
        throw new AssertionError(e.getMessage() + "\n--- agent log ---\n"
            + tail(work.resolve("agent.log")) + "\n--- prometheus log ---\n"
            + tail(work.resolve("prometheus.log")), e);
      } finally {
        writing.set(false);
        proxy.refuse(false);
        load.join(30_000);
      }
    } finally {
      stop(prometheus);
      stop(agent);
    }
  }

  private Process startAgent(PostgresCluster pg, Path socket, Azurite azurite, FaultProxy proxy,
      int metricsPort) throws IOException, InterruptedException {
    Path key = azurite.writeKeyFile(work.resolve("azure.key"));
    Path yaml = Files.writeString(work.resolve("pgsidecar.yaml"), """
        cluster: db1
        pgdata: %s
        socket: %s
        postgres:
          host: 127.0.0.1
          port: %d
          user: postgres
          bin-dir: %s
        storage:
          type: azure
          prefix: prod
          azure:
            auth: shared-key
            endpoint: %s
            account: %s
            key-file: %s
            container: %s
        wal:
          spool-dir: %s
        metrics:
          host: 127.0.0.1
          port: %d
        """.formatted(pg.pgdata(), socket, pg.port(), pg.binDir(), proxy.endpoint(Azurite.ACCOUNT),
        Azurite.ACCOUNT, key, azurite.container(), work.resolve("spool"), metricsPort));
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp",
        System.getProperty("java.class.path"), "io.pgsidecar.agent.cli.Main", "--config",
        yaml.toString(), "agent")
        .redirectErrorStream(true).redirectOutput(work.resolve("agent.log").toFile())
        .directory(Files.createDirectories(work.resolve("cwd")).toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG"));
    Process agent = pb.start();
    awaitTrue("the agent opens its socket", Duration.ofSeconds(90), () -> {
      if (!agent.isAlive()) {
        throw new AssertionError("the agent exited with " + agent.exitValue());
      }
      return Files.exists(socket);
    });
    // PostgreSQL's archive_command runs as postgres; in a pod both share one uid
    Files.setOwner(socket, socket.getFileSystem().getUserPrincipalLookupService()
        .lookupPrincipalByName("postgres"));
    return agent;
  }

  /** Prometheus scraping and evaluating every second, with the project's own rules file. */
  private Process startPrometheus(int metricsPort, int port) throws Exception {
    Path config = Files.writeString(work.resolve("prometheus.yml"), """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files:
          - %s
        scrape_configs:
          - job_name: pgsidecar
            static_configs:
              - targets: ['127.0.0.1:%d']
        """.formatted(RepoFiles.file("dashboards/alerts.yml"), metricsPort));
    Process p = new ProcessBuilder(PROMETHEUS.toString(), "--config.file=" + config,
        "--storage.tsdb.path=" + work.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + port)
        .redirectErrorStream(true).redirectOutput(work.resolve("prometheus.log").toFile()).start();
    awaitTrue("Prometheus is ready", Duration.ofSeconds(60), () -> {
      if (!p.isAlive()) {
        throw new AssertionError("prometheus exited with " + p.exitValue());
      }
      return get(port, "/-/ready").statusCode() == 200;
    });
    return p;
  }

  /** The state of PgsidecarWalArchivingFailing for cluster db1, empty when inactive. */
  private Optional<String> walAlertState(int port) {
    JsonArray alerts = new JsonObject(get(port, "/api/v1/alerts").body()).getJsonObject("data")
        .getJsonArray("alerts");
    for (int i = 0; i < alerts.size(); i++) {
      JsonObject a = alerts.getJsonObject(i);
      JsonObject labels = a.getJsonObject("labels");
      if ("PgsidecarWalArchivingFailing".equals(labels.getString("alertname"))
          && "db1".equals(labels.getString("cluster"))) {
        return Optional.of(a.getString("state"));
      }
    }
    return Optional.empty();
  }

  /** The single value of an instant query; -1 when it has none. */
  private double query(int port, String promql) {
    String q = java.net.URLEncoder.encode(promql, java.nio.charset.StandardCharsets.UTF_8);
    JsonArray result = new JsonObject(get(port, "/api/v1/query?query=" + q).body())
        .getJsonObject("data").getJsonArray("result");
    return result.isEmpty() ? -1
        : Double.parseDouble(result.getJsonObject(0).getJsonArray("value").getString(1));
  }

  private HttpResponse<String> get(int port, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void awaitTrue(String what, Duration within, BooleanSupplier condition)
      throws InterruptedException {
    Await.until(what, within, () -> {
      try {
        return condition.getAsBoolean();
      } catch (java.io.UncheckedIOException e) {
        return false; // not listening yet
      }
    });
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void stop(Process p) throws InterruptedException {
    if (p != null) {
      p.destroy();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }
}
