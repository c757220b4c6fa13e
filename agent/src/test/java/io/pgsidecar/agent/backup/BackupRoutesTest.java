package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.support.Await;
import io.pgsidecar.agent.cli.support.AgentClient;
import static io.pgsidecar.agent.backup.BackupFixtures.LAYOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.testkit.PostgresCluster;
import io.vertx.core.Vertx;
import io.pgsidecar.protocol.AgentConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

/**
 * The HTTP routes and the {@code pgsidecar backup} command against a real agent-side service
 * and PostgreSQL. Raw requests go over TCP; the CLI goes through the unix socket with
 * wal-archiver's AgentConnection, as it does in the pod.
 */
class BackupRoutesTest {

  static final Path ARCHIVE = BackupFixtures.archiveDir();
  static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  static final PostgresCluster PG = BackupFixtures.archivingCluster(ARCHIVE).build();

  static Vertx vertx;
  static HttpServer server;
  static HttpServer unixServer;
  static Path socket;
  static BackupService service;
  static WalShipper shipper;
  static MemoryStorage storage;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    PG.pgbench("-i", "-s", "2", "-q");
    CodecPipeline pipeline = Pipelines.zstd(1);
    storage = new MemoryStorage();
    shipper = new WalShipper(ARCHIVE, storage, LAYOUT, pipeline);
    service = BackupFixtures.service(PG, storage, pipeline, Duration.ofSeconds(60));
    vertx = Vertx.vertx();
    Router router = Router.router(vertx);
    new BackupRoutes(service).register(router);
    // the keep marks of --keep (the retention feature's routes, as the agent registers them)
    new io.pgsidecar.agent.retention.RetentionRoutes(new io.pgsidecar.agent.retention.RetentionService(
        storage, LAYOUT, io.pgsidecar.core.retention.RetentionPolicy.none(), pipeline,
        java.time.Clock.systemUTC(), new io.pgsidecar.agent.retention.RetentionMetrics(
            new io.micrometer.core.instrument.simple.SimpleMeterRegistry()),
        new io.pgsidecar.agent.feature.FeatureContext.Events() {}),
        new io.pgsidecar.agent.http.Blocking(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()))
        .register(router);
    server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
        .toCompletionStage().toCompletableFuture().get();
    // the CLI talks to the same routes over a unix socket, as in the pod
    socket = java.nio.file.Files.createTempDirectory("pgsidecar-sock-").resolve("agent.sock");
    unixServer = vertx.createHttpServer().requestHandler(router)
        .listen(SocketAddress.domainSocketAddress(socket.toString()))
        .toCompletionStage().toCompletableFuture().get();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get();
    unixServer.close().toCompletionStage().toCompletableFuture().get();
    vertx.close().toCompletionStage().toCompletableFuture().get();
    service.close();
    shipper.close();
  }

  static AgentClient.Response send(String method, String path, String body) throws Exception {
    var req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.actualPort() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body))
        .header("content-type", "application/json").build();
    HttpResponse<String> r = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
    return new AgentClient.Response(r.statusCode(), r.body());
  }

  record Run(int exit, String out, String err) {}

  static Run cli(String... args) {
    var out = new StringWriter();
    var err = new StringWriter();
    var cmd = new CommandLine(new BackupCommand(
        () -> AgentClient.over(AgentConnection.unixSocket(socket)), Duration.ofMillis(100)));
    cmd.setOut(new PrintWriter(out));
    cmd.setErr(new PrintWriter(err));
    int exit = cmd.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void secondPostWhileOneRunsIs409WithTheRunningIdAndProgressIsVisible() throws Exception {
    var first = send("POST", "/v1/backups", "{\"label\": \"http\"}");
    assertEquals(202, first.status(), first.body());
    String id = JSON.readTree(first.body()).get("id").asText();
    var second = send("POST", "/v1/backups", "{}");
    assertEquals(409, second.status(), second.body());
    JsonNode err = JSON.readTree(second.body());
    assertEquals(id, err.get("runningId").asText());
    assertTrue(err.get("error").asText().startsWith("base backup " + id + " is running"));
    var shown = new java.util.concurrent.atomic.AtomicReference<AgentClient.Response>();
    Await.until("base backup " + id + " ended", Duration.ofSeconds(120), () -> {
      shown.set(send("GET", "/v1/backups/" + id, null));
      if (shown.get().status() != 202) {
        return true;
      }
      assertEquals("running", JSON.readTree(shown.get().body()).get("state").asText());
      return false;
    });
    AgentClient.Response show = shown.get();
    assertEquals(200, show.status(), show.body());
    assertEquals("http", JSON.readTree(show.body()).get("label").asText());
  }

  @Test
  void waitReturnsTheManifestAndListShowsIt() throws Exception {
    var r = send("POST", "/v1/backups?wait=true", "{\"label\": \"waited\"}");
    assertEquals(200, r.status(), r.body());
    JsonNode m = JSON.readTree(r.body());
    assertEquals("waited", m.get("label").asText());
    assertEquals(1, m.get("timeline").asLong());
    var list = send("GET", "/v1/backups", null);
    assertEquals(200, list.status());
    boolean found = false;
    for (JsonNode b : JSON.readTree(list.body())) {
      found |= b.get("id").asText().equals(m.get("id").asText());
    }
    assertTrue(found, list.body());
  }

  /** Storage that fails is 503 on the admin routes too, as on the WAL routes (was 500). */
  @Test
  void storageThatFailsIs503() throws Exception {
    storage.failWith(new StorageException("storage unavailable: the test's repository is down"));
    try {
      for (String path : List.of("/v1/backups", "/v1/backups/20261122T021500Z")) {
        var r = send("GET", path, null);
        assertEquals(503, r.status(), path + ": " + r.body());
        assertEquals("storage unavailable: the test's repository is down",
            JSON.readTree(r.body()).get("error").asText(), path);
      }
    } finally {
      storage.failWith(null);
    }
    assertEquals(200, send("GET", "/v1/backups", null).status());
  }

  @Test
  void badIdsAndBodiesAre400() throws Exception {
    var r = send("GET", "/v1/backups/not-an-id", null);
    assertEquals(400, r.status());
    assertEquals("'not-an-id' is not a backup id (expected like 20261122T021500Z or "
        + "20261122T021500Z-1)", JSON.readTree(r.body()).get("error").asText());
    var b = send("POST", "/v1/backups", "[1]");
    assertEquals(400, b.status());
    assertEquals("request body must be a JSON object like {\"label\": \"before upgrade\"}",
        JSON.readTree(b.body()).get("error").asText());
    assertEquals(404, send("GET", "/v1/backups/20000101T000000Z", null).status());
  }

  @Test
  void cliCreatesListsShowsAndDeletes() throws Exception {
    for (var b : service.list()) {
      service.delete(b.id(), true);
    }
    Run created = cli("create", "--wait", "--label", "from cli", "--output", "json");
    assertEquals(0, created.exit(), created.err());
    String id = JSON.readTree(created.out()).get("id").asText();

    Run list = cli("list");
    assertEquals(0, list.exit(), list.err());
    assertTrue(list.out().lines().anyMatch(l -> l.startsWith(id) && l.endsWith("from cli")),
        list.out());

    Run show = cli("show", id, "--output", "json");
    assertEquals(0, show.exit());
    assertEquals(id, JSON.readTree(show.out()).get("id").asText());

    Run refused = cli("delete", id);
    assertEquals(6, refused.exit()); // a 409: ExitCodes.CONFLICT (was 1 before the one table)
    assertEquals("pgsidecar backup: base backup " + id + " is the only complete base backup of "
        + "cluster db1; deleting it leaves nothing to restore from. Take another backup first, or "
        + "force the delete (--force, ?force=true) (HTTP 409)\n", refused.err());

    Run deleted = cli("delete", id, "--force");
    assertEquals(0, deleted.exit(), deleted.err());
    assertEquals("base backup " + id + " deleted\n", deleted.out());
    assertEquals(List.of(), service.list());
  }

  @Test
  void cliCreateWithKeepMarksTheBackupPermanentOnceComplete() throws Exception {
    Run refused = cli("create", "--keep");
    assertEquals(2, refused.exit());
    assertEquals("pgsidecar backup: --keep needs --wait (a backup is marked permanent once it is"
        + " complete)\n", refused.err());

    Run created = cli("create", "--wait", "--keep", "--label", "pinned", "--progress", "never");
    assertEquals(0, created.exit(), created.err());
    String id = created.out().lines().filter(l -> l.endsWith(" is now permanent: retention never removes it"))
        .findFirst().orElseThrow(() -> new AssertionError(created.out())).split(" ")[2];
    // --progress=never: the result and the mark, no progress line
    List<String> lines = created.out().lines().toList();
    assertEquals(2, lines.size(), created.out());
    assertTrue(lines.get(0).startsWith("base backup " + id + " complete: "), created.out());
    assertEquals("", created.err());
    assertTrue(storage.stat(LAYOUT.baseKeepMark(id)).isPresent());
    Run delete = cli("delete", id, "--force");
    assertEquals(6, delete.exit());
    assertEquals("pgsidecar backup: base backup " + id + " is permanent (marked with pgsidecar backup"
        + " keep); release it first with pgsidecar backup release " + id + " (HTTP 409)\n", delete.err());
    storage.delete(LAYOUT.baseKeepMark(id));
    service.delete(id, true);
  }

  @Test
  void cliSaysWhenTheAgentCannotBeReached() {
    var err = new StringWriter();
    Path missing = socket.resolveSibling("missing.sock");
    var cmd = new CommandLine(new BackupCommand(
        () -> AgentClient.over(AgentConnection.unixSocket(missing))));
    cmd.setErr(new PrintWriter(err));
    assertEquals(3, cmd.execute("list"));
    assertTrue(err.toString().startsWith("pgsidecar backup: cannot connect to the agent at "
        + missing + ": "), err.toString());
    assertTrue(err.toString().endsWith(" (is the agent running, and is http.admin-socket right?)\n"));
  }
}
