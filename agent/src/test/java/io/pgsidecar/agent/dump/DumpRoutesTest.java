package io.pgsidecar.agent.dump;

import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.agent.postgres.PgConnection;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.StorageException;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP API over a real Vert.x server; the dump itself is held back (or fails) on purpose. */
class DumpRoutesTest {

  static final ObjectMapper JSON = new ObjectMapper();
  final List<Runnable> queued = new ArrayList<>();
  final HttpClient http = HttpClient.newHttpClient();
  Vertx vertx;
  DumpService service;
  MemoryStorage storage;
  HttpServer server;

  @BeforeEach
  void startServer() throws Exception {
    storage = new MemoryStorage();
    service = new DumpService(storage, Pipelines.plain(),
        new RepositoryLayout("", "c1"), new PgTool(Path.of("/nonexistent")),
        new PgConnection("h", 5432, "u", "", Optional.empty(), Map.of()),
        new PgsidecarConfig.Dump(List.of(), List.of(), false), queued::add,
        Clock.fixed(Instant.parse("2026-11-22T02:15:00Z"), ZoneOffset.UTC), Optional::empty);
    vertx = Vertx.vertx();
    Router router = Router.router(vertx);
    new DumpRoutes(service).register(router);
    server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
        .toCompletionStage().toCompletableFuture().get();
  }

  @AfterEach
  void stopServer() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get();
  }

  HttpResponse<String> send(String method, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.actualPort() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void postStartsADumpAndASecondPostIsRefusedWithTheRunningId() throws Exception {
    HttpResponse<String> first = send("POST", "/v1/dumps", "{\"databases\": [\"shop\"], \"label\": \"m\"}");
    assertEquals(202, first.statusCode(), first.body());
    assertEquals("{\"id\":\"20261122T021500Z\",\"state\":\"RUNNING\",\"location\":"
        + "\"/v1/dumps/20261122T021500Z\"}", first.body());

    HttpResponse<String> second = send("POST", "/v1/dumps", null);
    assertEquals(409, second.statusCode());
    assertEquals("{\"error\":\"dump 20261122T021500Z is running; one dump runs at a time, retry"
        + " after it has finished\",\"runningId\":\"20261122T021500Z\"}\n", second.body());

    HttpResponse<String> running = send("GET", "/v1/dumps/20261122T021500Z", null);
    assertEquals(202, running.statusCode());
    assertEquals("{\"id\":\"20261122T021500Z\",\"state\":\"RUNNING\",\"label\":\"m\","
        + "\"progress\":{\"startedAt\":\"2026-11-22T02:15:00Z\",\"object\":\"\","
        + "\"dumpedBytes\":0}}", running.body(), "the progress document dump create --wait shows");
    assertEquals(409, send("DELETE", "/v1/dumps/20261122T021500Z", null).statusCode());
  }

  @Test
  void aFailedDumpIsListedAsFailedWithItsMessage() throws Exception {
    List<String> failures = new ArrayList<>();
    service.listener(new DumpService.Listener() {
      @Override
      public void failed(DumpStatus.Failure failure, java.time.Duration took) {
        failures.add(failure.object());
      }
    });
    assertEquals(202, send("POST", "/v1/dumps", "{\"label\": \"nightly\"}").statusCode());
    queued.remove(0).run();

    JsonNode list = JSON.readTree(send("GET", "/v1/dumps", null).body());
    assertEquals(1, list.size());
    assertEquals("FAILED", list.get(0).path("state").asText());
    assertEquals("nightly", list.get(0).path("label").asText());
    assertEquals("dump 20261122T021500Z failed on the server: psql not found at /nonexistent/psql;"
        + " set postgres.bin-dir (PGSIDECAR_POSTGRES_BIN_DIR) to the directory of the PostgreSQL client programs (same or newer"
        + " major version than the server)", list.get(0).path("failure").path("message").asText());
    assertEquals(List.of("the server"), failures);
    HttpResponse<String> show = send("GET", "/v1/dumps/20261122T021500Z", null);
    assertEquals(200, show.statusCode());
    assertEquals(200, send("DELETE", "/v1/dumps/20261122T021500Z", null).statusCode());
    assertEquals(404, send("GET", "/v1/dumps/20261122T021500Z", null).statusCode());
  }

  /** Storage that fails is 503 on the dump routes too, as on the WAL routes (was 500). */
  @Test
  void storageThatFailsIs503() throws Exception {
    storage.failWith(new StorageException("storage unavailable: the test's repository is down"));
    for (String path : List.of("/v1/dumps", "/v1/dumps/20261122T021500Z")) {
      HttpResponse<String> r = send("GET", path, null);
      assertEquals(503, r.statusCode(), path + ": " + r.body());
      assertEquals("storage unavailable: the test's repository is down",
          JSON.readTree(r.body()).get("error").asText(), path);
    }
  }

  @Test
  void badRequestsAreAnsweredWith400AndUnknownIdsWith404() throws Exception {
    HttpResponse<String> body = send("POST", "/v1/dumps", "{\"databases\": \"shop\"}");
    assertEquals(400, body.statusCode());
    // every problem of the agent is one JSON line, as its refusals are (Problems)
    assertEquals("{\"error\":\"databases must be a list of database names\"}\n", body.body());
    HttpResponse<String> id = send("GET", "/v1/dumps/..%2Fbase", null);
    assertEquals(400, id.statusCode());
    assertTrue(id.body().contains("is not a dump id"), id.body());
    HttpResponse<String> missing = send("GET", "/v1/dumps/20200101T000000Z", null);
    assertEquals(404, missing.statusCode());
    assertEquals("{\"error\":\"no dump 20200101T000000Z in the repository; see GET /v1/dumps\"}\n",
        missing.body());
  }
}
