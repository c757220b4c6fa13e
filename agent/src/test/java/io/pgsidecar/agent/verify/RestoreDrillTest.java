package io.pgsidecar.agent.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.verify.WalVerifier;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The scheduled restore drill's run: a real backup restored, the window measured, the meters set. */
class RestoreDrillTest {

  static final Path ARCHIVE = VerifyFixture.sharedDir("pgsidecar-verify-archive-");
  static final Path WORK = VerifyFixture.sharedDir("pgsidecar-verify-work-");

  @RegisterExtension
  static final PostgresCluster PG = VerifyFixture.archivingCluster(ARCHIVE);

  @TempDir
  Path tmp;

  private final CodecPipeline zstd = Pipelines.zstd(3);

  @Test
  void aDrillRestoresTheNewestBackupMeasuresTheWindowAndSetsTheMeters() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    try (Storage storage = new FsStorage(repo); AgentMetrics metrics = new AgentMetrics("db1")) {
      List<BackupManifest> made = VerifyFixture.whileShipping(PG, ARCHIVE, storage, zstd,
          backups -> {
            BackupManifest first = backups.create("first");
            PG.sql("CREATE TABLE drill AS SELECT g FROM generate_series(1, 100) g");
            return List.of(first, backups.create("second"));
          });
      BackupManifest oldest = made.get(0);
      BackupManifest newest = made.get(1);
      VerifyMetrics meters = new VerifyMetrics(metrics.registry());
      List<String> errors = new ArrayList<>();
      FeatureContext.Events events = new FeatureContext.Events() {
        @Override
        public void error(String operation, String message) {
          errors.add(operation + ": " + message);
        }
      };
      RestoreDrill drill = new RestoreDrill(storage, VerifyFixture.LAYOUT,
          new WalVerifier(storage, VerifyFixture.LAYOUT, zstd),
          new BackupVerifier(storage, VerifyFixture.LAYOUT, zstd,
              VerifyFixture.settings(PG, WORK, "SELECT count(*) FROM drill")), Clock.systemUTC());
      DrillService service = new DrillService(drill, meters, events, Clock.systemUTC());

      service.run("test");
      Map<String, Object> last = lastOf(service);
      assertEquals("success", last.get("result"), String.valueOf(last));
      assertEquals(newest.id(), last.get("backup"));
      assertEquals("100", last.get("probe"));
      assertEquals(oldest.startTime().toString(), last.get("windowStart"));
      assertEquals(List.of(), last.get("walGaps"));
      System.out.println("restore drill of " + newest.id() + ": " + last.get("durationMillis")
          + " ms " + last.get("steps") + ", window " + last.get("windowSeconds") + " s");
      String scrape = metrics.scrape();
      assertTrue(scrape.contains("pgsidecar_restore_drill_runs_total{cluster=\"db1\",result=\"ok\"} 1.0"),
          scrape);
      assertTrue(scrape.contains("pgsidecar_wal_gap_segments{cluster=\"db1\"} 0.0"), scrape);
      assertTrue(!scrape.contains("pgsidecar_restore_drill_last_success_timestamp_seconds{cluster=\"db1\"} 0.0"),
          scrape);

      // the newest backup damaged: the drill fails, says why, and counts it
      try (RandomAccessFile f = new RandomAccessFile(repo.resolve(newest.dataKey()).toFile(), "rw")) {
        f.seek(64);
        int b = f.read();
        f.seek(64);
        f.write(b ^ 0x10);
      }
      service.run("test");
      last = lastOf(service);
      assertEquals("failure", last.get("result"));
      assertTrue(String.valueOf(last.get("error")).startsWith("backup " + newest.id() + ": "
          + newest.dataKey() + " is damaged: "), String.valueOf(last.get("error")));
      assertEquals(1, errors.size());
      assertTrue(metrics.scrape().contains(
          "pgsidecar_restore_drill_runs_total{cluster=\"db1\",result=\"error\"} 1.0"));
      try (var left = Files.list(WORK)) {
        assertEquals(0, left.count(), "scratch directories left behind");
      }
    }
  }

  @Test
  void theAdminRoutesStartADrillAndShowHowItEnded() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try (Storage storage = new FsStorage(repo); AgentMetrics metrics = new AgentMetrics("db1")) {
      BackupManifest backup = VerifyFixture.whileShipping(PG, ARCHIVE, storage, zstd,
          backups -> backups.create("routes"));
      RestoreDrill drill = new RestoreDrill(storage, VerifyFixture.LAYOUT,
          new WalVerifier(storage, VerifyFixture.LAYOUT, zstd),
          new BackupVerifier(storage, VerifyFixture.LAYOUT, zstd,
              VerifyFixture.settings(PG, WORK, VerifySettings.DEFAULT_PROBE)), Clock.systemUTC());
      DrillService service = new DrillService(drill, new VerifyMetrics(metrics.registry()),
          new FeatureContext.Events() {}, Clock.systemUTC());
      io.vertx.ext.web.Router router = io.vertx.ext.web.Router.router(vertx);
      new VerifyRoutes(service, new io.pgsidecar.agent.http.Blocking(
          java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor())).register(router);
      int port = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
          .toCompletionStage().toCompletableFuture().get().actualPort();
      var http = java.net.http.HttpClient.newHttpClient();
      var base = java.net.URI.create("http://127.0.0.1:" + port + "/v1/restore-drills");
      var post = http.send(java.net.http.HttpRequest.newBuilder(base)
          .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(202, post.statusCode(), post.body());
      var json = new com.fasterxml.jackson.databind.ObjectMapper();
      io.pgsidecar.testkit.Waits.until(java.time.Duration.ofMinutes(3),
          java.time.Duration.ofMillis(200), () -> {
            var get = http.send(java.net.http.HttpRequest.newBuilder(base).GET().build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
            return get.statusCode() == 200 && !json.readTree(get.body()).path("running").asBoolean();
          });
      var get = http.send(java.net.http.HttpRequest.newBuilder(base).GET().build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      var last = json.readTree(get.body()).path("last");
      assertEquals("success", last.path("result").asText(), get.body());
      assertEquals(backup.id(), last.path("backup").asText());
      assertEquals("requested", last.path("label").asText());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get();
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> lastOf(DrillService service) {
    return (Map<String, Object>) service.status().get("last");
  }

}
