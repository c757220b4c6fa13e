package io.pgsidecar.e2e;

import static io.pgsidecar.e2e.KubeletSim.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgsidecar.e2e.KubeletSim.Image;
import io.pgsidecar.testkit.Azurite;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pod drill: the built OCI image and the rendered chart, run the way a kubelet would
 * ({@link KubeletSim}), with a Debian postgresql-15 root file system standing in for the
 * official postgres:15 image. On an empty volume PostgreSQL initialises from POSTGRES_*, archives
 * WAL through the image's WAL client, and the scheduled base backup runs; the pod is deleted and
 * its volume wiped; the pod comes back with restore values and holds the rows as of the target
 * time. Prometheus scrapes the agent through the rendered PodMonitor and evaluates the rendered
 * PrometheusRule: with Azurite stopped, the WAL archiving alert goes pending while the postgres
 * container stays ready.
 *
 * <p>Containers cannot run on this machine (runc fails on setrlimit) and no registry is
 * reachable, so there is no variant on the real postgres:15 image with Testcontainers; the
 * stand-in's entrypoint does what the chart relies on in the official one.
 */
class PodDrillTest {

  private static final String POSTGRES_SECRET = "db1-pgsidecar-postgres";
  private static final String AZURE_SECRET = "db1-azure-storage";
  private static final String PGSIDECAR_IMAGE = "localhost/pgsidecar:drill";
  private static final String POSTGRES_IMAGE = "postgres:15";
  private static final Duration POD_TIMEOUT = Duration.ofSeconds(90);
  private static final long AGENT_RSS_BUDGET_KIB = 256 * 1024;

  @TempDir
  Path work;

  private final Map<String, Long> timings = new LinkedHashMap<>();
  private final Map<String, Long> memory = new LinkedHashMap<>();

  /** The agent's JVM's peak RSS, recorded and held to the 256 MiB budget. */
  private void agentPeakRss(KubeletSim.SimPod pod, String when) throws IOException {
    long kib = pod.container("agent").peakRssKib("java");
    assertTrue(kib > 0, "no java process in the agent container");
    memory.put(when, kib);
    assertTrue(kib <= AGENT_RSS_BUDGET_KIB, "agent VmHWM " + kib / 1024 + " MiB " + when
        + " is over the budget of " + AGENT_RSS_BUDGET_KIB / 1024 + " MiB (container/bin/pgsidecar's JVM flags)");
  }

  /**
   * The drill's POSTGRES_USER is shopadmin and POSTGRES_DB shop: a readiness probe connecting as
   * the default role (or into a database named after the role) makes the server log a FATAL
   * every period.
   */
  private static void assertNoFatalFromTheProbe(KubeletSim.SimPod pod) throws IOException {
    String log = Files.readString(pod.container("postgres").log);
    assertTrue(log.contains("database system is ready to accept connections"), "the postgres log is the server's:\n"
        + KubeletSim.tail(pod.container("postgres").log));
    // e.g. FATAL:  role "postgres" does not exist, or database "shopadmin" does not exist
    List<String> missing = log.lines().filter(l -> l.contains("FATAL") && l.contains("does not exist")).limit(5).toList();
    assertEquals(List.of(), missing, "the readiness probe's role or database is not the Secret's");
  }

  @Test
  void podFromTheChartArchivesBacksUpRestoresToATimeAndAlertsWhileStaysReady() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")),
        "the pod drill plays a kubelet: mount namespaces, bind mounts and chroot need root (CI runs as root)");
    Image pgsidecar = KubeletSim.pgsidecarImage();
    Image postgres = KubeletSim.postgresImage();
    String password = "pw-" + UUID.randomUUID();
    int pgPort = KubeletSim.freePort();
    int metricsPort = KubeletSim.freePort();
    try (var azurite = Azurite.launch("pgsidecar")) {
      Map<String, Map<String, String>> secrets = Map.of(
          POSTGRES_SECRET, Map.of("POSTGRES_PASSWORD", password, "POSTGRES_USER", "shopadmin", "POSTGRES_DB", "shop"),
          AZURE_SECRET, Map.of("connection-string", azurite.connectionString()));
      var kubelet = new KubeletSim(work, Map.of(PGSIDECAR_IMAGE, pgsidecar, POSTGRES_IMAGE, postgres), secrets);
      List<String> values = new ArrayList<>(List.of(
          "image.repository=localhost/pgsidecar", "image.tag=drill",
          "postgresql.image.repository=postgres",
          "storage.type=azure", "storage.azure.container=pgsidecar",
          "storage.azure.auth=connection-string", "storage.azure.existingSecret=" + AZURE_SECRET,
          "postgresql.port=" + pgPort, "metrics.port=" + metricsPort,
          // the schedule fires at the next minute: the drill waits for that scheduled backup
          "backup.schedule=* * * * *", "dump.schedule=",
          "metrics.podMonitor.interval=2s",
          // an outage shows as failed pushes within seconds rather than after the default retries
          "agent.config.storage.retries=1", "agent.config.storage.timeout=5s"));
      List<JsonNode> objects = KubeletSim.render(values);

      try (var prometheus = Prometheus.start(work.resolve("prometheus"), objects, metricsPort)) {
        // ---- first pod, empty volume ----
        long t = System.nanoTime();
        Instant targetTime;
        try (var pod = kubelet.start(KubeletSim.object(objects, "StatefulSet"), objects, POD_TIMEOUT)) {
          took("pod start on an empty volume (initdb by the entrypoint)", t);
          try (Connection db = connect(pgPort, password)) {
            exec(db, "CREATE TABLE orders (id int PRIMARY KEY, batch text NOT NULL)");
            insert(db, 1, 100, "before-backup");
            t = System.nanoTime();
            String segment = switchWal(db);
            awaitArchived(db, segment);
            took("WAL segment archived through the image's WAL client", t);
            assertEquals(0, queryLong(db, "SELECT failed_count FROM pg_stat_archiver"),
                "archive_command failures; postgres log:\n" + KubeletSim.tail(pod.container("postgres").log));

            t = System.nanoTime();
            waitUntil(Duration.ofSeconds(150), "the scheduled base backup (pgsidecar_backup_last_success_timestamp_seconds{kind=\"base\"} > 0)",
                () -> metric(metricsPort, "pgsidecar_backup_last_success_timestamp_seconds{", "kind=\"base\"") > 0);
            took("scheduled base backup (schedule * * * * *: up to a minute of waiting)", t);
            var list = pod.container("agent").exec(Duration.ofSeconds(60), "/opt/pgsidecar/bin/pgsidecar", "backup", "list");
            assertEquals(0, list.exitCode(), list.output());
            assertTrue(list.output().lines().anyMatch(l -> l.matches("\\d{8}T\\d{6}Z .* scheduled")),
                "a scheduled base backup in `pgsidecar backup list` (admin socket):\n" + list.output());

            // the agent after start, WAL archiving and a base backup (pg_basebackup streamed
            // through it): within the chart's budget (values.yaml agent.resources)
            agentPeakRss(pod, "after archiving and the scheduled base backup");

            insert(db, 101, 50, "before-target");
            Instant committed = queryInstant(db, "SELECT clock_timestamp()");
            targetTime = committed.truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
            waitUntil(Duration.ofSeconds(5), "the server's clock past the target time",
                () -> queryInstant(db, "SELECT clock_timestamp()").isAfter(targetTime));
            insert(db, 151, 25, "after-target");
            segment = switchWal(db);
            awaitArchived(db, segment);
          }
          assertEquals(List.of(), pod.container("postgres").unreadyTimes, "postgres readiness lost");
          assertNoFatalFromTheProbe(pod);
          t = System.nanoTime();
        }
        took("pod deleted (containers stopped in reverse order)", t);
        kubelet.wipePersistentVolume("data");

        // ---- second pod: restore values, empty volume ----
        List<String> restoreValues = new ArrayList<>(values);
        restoreValues.addAll(List.of("restore.enabled=true", "restore.targetTime=" + targetTime));
        List<JsonNode> restoreObjects = KubeletSim.render(restoreValues);
        t = System.nanoTime();
        try (var pod = kubelet.start(KubeletSim.object(restoreObjects, "StatefulSet"), restoreObjects, POD_TIMEOUT);
            Connection db = connect(pgPort, password)) {
          waitUntil(Duration.ofSeconds(120), "the restored server to promote",
              () -> !queryBool(db, "SELECT pg_is_in_recovery()"));
          took("restore to the target time (pod start to promoted)", t);
          assertEquals(100, queryLong(db, "SELECT count(*) FROM orders WHERE batch = 'before-backup'"));
          assertEquals(50, queryLong(db, "SELECT count(*) FROM orders WHERE batch = 'before-target'"));
          assertEquals(0, queryLong(db, "SELECT count(*) FROM orders WHERE batch = 'after-target'"));
          assertEquals(150, queryLong(db, "SELECT count(*) FROM orders"));

          // ---- Prometheus sees the agent; a storage outage raises the alert, not unreadiness ----
          waitUntil(Duration.ofSeconds(60), "Prometheus scraping the agent (up == 1)",
              () -> prometheus.query("up").contains("\"1\"]"));
          azurite.stop();
          t = System.nanoTime();
          insert(db, 1001, 10, "during-outage");
          switchWal(db);
          waitUntil(Duration.ofSeconds(120), "PgsidecarWalArchivingFailing pending; alerts: " + prometheus.alerts(),
              () -> prometheus.alerts().contains("\"alertname\":\"PgsidecarWalArchivingFailing\"")
                  && prometheus.alerts().contains("\"state\":\"pending\""));
          took("storage outage to PgsidecarWalArchivingFailing pending", t);
          var postgresContainer = pod.container("postgres");
          // watch readiness for longer than the probe needs to turn a container unready
          JsonNode readiness = postgresContainer.readinessProbe;
          long window = TimeUnit.SECONDS.toNanos((readiness.path("failureThreshold").asLong(3) + 1)
              * readiness.path("periodSeconds").asLong(10));
          long outage = t;
          waitUntil(Duration.ofNanos(window).plusSeconds(30), "the readiness window to pass",
              () -> !postgresContainer.ready || System.nanoTime() - outage > window);
          assertTrue(postgresContainer.ready, "postgres container ready during the storage outage");
          assertEquals(List.of(), postgresContainer.unreadyTimes, "postgres readiness lost during the outage");
          assertTrue(postgresContainer.probe(postgresContainer.readinessProbe), "readiness probe passes now");
          assertEquals(List.of(), pod.container("agent").livenessFailures, "agent liveness failures");
          // archive_command fails (it does not hang) while storage is down
          waitUntil(Duration.ofSeconds(60), "a failed archive_command in pg_stat_archiver",
              () -> queryLong(db, "SELECT failed_count FROM pg_stat_archiver") > 0);
          assertTrue(prometheus.alerts().contains("\"cluster\":\"db1-pgsidecar\""), prometheus.alerts());
          agentPeakRss(pod, "after the restore (WAL fetched through it) and the outage");
          assertNoFatalFromTheProbe(pod);
          azurite.start();
        }
      }
    } finally {
      System.out.println("pod drill timings:");
      timings.forEach((what, ms) -> System.out.printf("  %-70s %6d ms%n", what, ms));
      memory.forEach((what, kib) -> System.out.printf("  agent VmHWM %-58s %6d MiB%n", what, kib / 1024));
    }
  }

  private void took(String what, long startNanos) {
    timings.put(what, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
  }

  // ---- database -----------------------------------------------------------------------------

  static Connection connect(int port, String password) throws SQLException {
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/shop", "shopadmin", password);
  }

  static void exec(Connection db, String sql) throws SQLException {
    try (Statement s = db.createStatement()) {
      s.execute(sql);
    }
  }

  static void insert(Connection db, int first, int count, String batch) throws SQLException {
    exec(db, "INSERT INTO orders SELECT g, '" + batch + "' FROM generate_series(" + first + ", "
        + (first + count - 1) + ") g");
  }

  static String switchWal(Connection db) throws SQLException {
    try (Statement s = db.createStatement();
        ResultSet r = s.executeQuery("SELECT pg_walfile_name(pg_switch_wal())")) {
      r.next();
      return r.getString(1);
    }
  }

  static void awaitArchived(Connection db, String segment) throws Exception {
    waitUntil(Duration.ofSeconds(60), "segment " + segment + " in pg_stat_archiver",
        () -> {
          try (Statement s = db.createStatement();
              ResultSet r = s.executeQuery("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")) {
            r.next();
            String last = r.getString(1);
            // timeline ids may differ after a restore; compare the log and segment numbers
            return !last.isEmpty() && last.substring(8).compareTo(segment.substring(8)) >= 0;
          }
        });
  }

  static long queryLong(Connection db, String sql) throws SQLException {
    try (Statement s = db.createStatement(); ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }

  static boolean queryBool(Connection db, String sql) throws SQLException {
    try (Statement s = db.createStatement(); ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getBoolean(1);
    }
  }

  static Instant queryInstant(Connection db, String sql) throws SQLException {
    try (Statement s = db.createStatement(); ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getTimestamp(1).toInstant();
    }
  }

  /** A sample of the agent's /metrics: the first line starting with {@code name} that holds {@code label}. */
  private static double metric(int port, String name, String label) throws IOException, InterruptedException {
    for (String line : LocalHttp.metrics(port).split("\n")) {
      if (line.startsWith(name) && line.contains(label)) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return -1;
  }
}
