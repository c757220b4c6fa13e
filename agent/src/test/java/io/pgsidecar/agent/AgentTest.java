package io.pgsidecar.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.GatedStorage;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentTest {

  static final String SEG1 = "000000010000000000000001";

  @TempDir Path work;

  PgsidecarConfig config(Optional<Integer> tcp, Duration grace) throws IOException {
    FakePgdata pg = new FakePgdata(work.resolve("pgdata"), 9);
    pg.readyWal(SEG1, 1000, 1);
    PgsidecarConfig base = TestConfig.of(pg.root(), work);
    return TestConfig.withHttp(base,
        new PgsidecarConfig.Http(tcp, tcp.map(p -> work.resolve("token")), grace));
  }

  @Test
  void socketIsOnlyForOwnerAndGroupAndAStaleOneIsReplaced() throws Exception {
    PgsidecarConfig cfg = config(Optional.empty(), Duration.ofSeconds(5));
    Files.createDirectories(cfg.socket().getParent());
    // what a SIGKILLed agent leaves behind: a socket file nobody listens on
    try (ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      stale.bind(UnixDomainSocketAddress.of(cfg.socket()));
    }
    assertTrue(Files.exists(cfg.socket()));
    try (Agent agent = new Agent(cfg, new MemoryStorage(), new XorPipeline())) {
      agent.start();
      assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(cfg.socket())));
      assertEquals(200, UnixHttp.get(cfg.socket(), "/healthz").status());
      assertEquals(200, UnixHttp.get(cfg.socket(), "/readyz").status());
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cfg.adminSocket())));
      UnixHttp.Response none = UnixHttp.get(cfg.adminSocket(), "/v1/nothing");
      assertEquals(404, none.status());
      assertEquals("{\"error\":\"no route GET /v1/nothing\"}\n", none.text());
    }
    assertTrue(Files.notExists(cfg.socket()), "socket removed at shutdown");
    assertTrue(Files.notExists(cfg.adminSocket()), "admin socket removed at shutdown");
  }

  @Test
  void tcpListenerOn127001RequiresTheBearerToken() throws Exception {
    PgsidecarConfig cfg = config(Optional.of(0), Duration.ofSeconds(5));
    String token = "0123456789abcdef0123456789abcdef";
    Files.writeString(work.resolve("token"), token + "\n");
    try (Agent agent = new Agent(cfg, new MemoryStorage(), new XorPipeline());
        HttpClient http = HttpClient.newHttpClient()) {
      agent.start();
      URI uri = URI.create("http://127.0.0.1:" + agent.tcpPort() + "/healthz");
      HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(uri).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(401, anonymous.statusCode());
      HttpResponse<String> wrong = http.send(HttpRequest.newBuilder(uri)
          .header("Authorization", "Bearer nope").build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(401, wrong.statusCode());
      HttpResponse<String> ok = http.send(HttpRequest.newBuilder(uri)
          .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ok.statusCode());
      // with the token, the admin routes: WAL of any cluster (the hook socket would answer 403)
      HttpResponse<String> other = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
              + agent.tcpPort() + "/v1/wal/" + SEG1 + "?cluster=other"))
          .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
      // served by the fetch route: that archive has no cluster.json, so "unavailable", never "not found"
      assertEquals(503, other.statusCode(), other.body());
      assertEquals(403, UnixHttp.get(cfg.socket(), "/v1/wal/" + SEG1 + "?cluster=other").status());
    }
  }

  @Test
  void shutdownLetsAPushUnderWayFinishAndAcknowledgesItOnlyWhenStored() throws Exception {
    PgsidecarConfig cfg = config(Optional.empty(), Duration.ofSeconds(10));
    GatedStorage storage = new GatedStorage();
    Agent agent = new Agent(cfg, storage, new XorPipeline());
    agent.start();
    CompletableFuture<UnixHttp.Response> push = CompletableFuture.supplyAsync(() -> post(cfg));
    assertTrue(storage.entered.await(10, TimeUnit.SECONDS));
    CompletableFuture<Void> closing = CompletableFuture.runAsync(agent::close);
    Thread.sleep(300);
    assertEquals(false, closing.isDone(), "close waits for the push under way");
    storage.gate.countDown();
    assertEquals(200, push.get(10, TimeUnit.SECONDS).status());
    closing.get(10, TimeUnit.SECONDS);
    assertTrue(storage.inner.stat("prod/db1/wal/0000000100000000/" + SEG1 + ".xor").isPresent());
  }

  @Test
  void pushThatOverrunsTheShutdownGraceIsNeverAcknowledged() throws Exception {
    PgsidecarConfig cfg = config(Optional.empty(), Duration.ofMillis(500));
    GatedStorage storage = new GatedStorage();
    Agent agent = new Agent(cfg, storage, new XorPipeline());
    agent.start();
    CompletableFuture<UnixHttp.Response> push = CompletableFuture.supplyAsync(() -> post(cfg));
    assertTrue(storage.entered.await(10, TimeUnit.SECONDS));
    agent.close();
    UnixHttp.Response r;
    try {
      r = push.get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      r = null; // connection closed without an answer: PostgreSQL retries
    }
    if (r != null) {
      assertNotEquals(200, r.status(), r.text());
    }
    storage.gate.countDown();
    assertTrue(storage.inner.stat("prod/db1/wal/0000000100000000/" + SEG1 + ".xor").isEmpty());
  }

  private static UnixHttp.Response post(PgsidecarConfig cfg) {
    try {
      return UnixHttp.post(cfg.socket(), "/v1/wal/push", "{\"path\":\"pg_wal/" + SEG1 + "\"}");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
