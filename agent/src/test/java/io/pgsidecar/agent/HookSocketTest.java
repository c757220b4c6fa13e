package io.pgsidecar.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.cli.Main;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.Restore;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.StorageException;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole agent ({@link Sidecar}: WAL, backup, dump and status routes) on its two real unix
 * sockets: the hook socket PostgreSQL's container sees serves WAL push and fetch of this cluster
 * and of {@code restore.from-cluster} only; every administration route is refused there with 403
 * and served on the admin socket. And {@code /readyz} names no storage account, endpoint,
 * container or path, on the socket and on the metrics port.
 */
class HookSocketTest {

  static final String SEG = "000000010000000000000001";

  @TempDir Path work;
  final MemoryStorage storage = new MemoryStorage();
  PgsidecarConfig config;
  Sidecar sidecar;

  @BeforeEach
  void start() throws Exception {
    PgsidecarConfig base = TestConfig.of(new FakePgdata(work.resolve("pgdata"), 1L).root(), work);
    int nobody = freePort(); // PostgreSQL is not running: the postgres check fails
    config = new PgsidecarConfig(base.cluster(), base.pgdata(), base.socket(), base.http(),
        new PgsidecarConfig.Postgres("127.0.0.1", nobody, "postgres", "postgres", Optional.empty(),
            base.postgres().binDir()),
        base.storage(), base.compression(), base.encryption(), base.wal(), base.backup(),
        base.dump(), new PgsidecarConfig.Metrics(freePort(), "127.0.0.1"), base.schedule(),
        new Restore(false, "latest", Optional.empty(), Optional.empty(), Optional.empty(),
            Optional.empty(), false, false, "promote", "latest", Optional.of("old"),
            Restore.DEFAULT_WAL_ARCHIVER, Optional.empty()));
    // default Vert.x options: this test is about routing (EventLoopGuard's tests are about
    // blocking), and class loading on a busy machine tripped the strict 300 ms limit
    sidecar = new Sidecar(config, storage, new XorPipeline(), new AgentMetrics("db1"),
        new VertxOptions());
    sidecar.start();
  }

  @AfterEach
  void stop() {
    sidecar.close();
  }

  /** Method, path, body, and the admin socket's answer that proves the route was reached. */
  record AdminCall(String method, String path, String body, int adminStatus) {}

  static final List<AdminCall> ADMIN_ROUTES = List.of(
      new AdminCall("GET", "/v1/status", null, 200),
      new AdminCall("GET", "/v1/backups", null, 200),
      new AdminCall("POST", "/v1/backups", "[1]", 400),
      new AdminCall("POST", "/v1/backups?wait=true", "[1]", 400),
      new AdminCall("GET", "/v1/backups/20000101T000000Z", null, 404),
      new AdminCall("DELETE", "/v1/backups/20000101T000000Z", null, 404),
      new AdminCall("DELETE", "/v1/backups/20000101T000000Z?force=true", null, 404),
      new AdminCall("GET", "/v1/dumps", null, 200),
      new AdminCall("POST", "/v1/dumps", "{\"databases\": \"shop\"}", 400),
      new AdminCall("GET", "/v1/dumps/20200101T000000Z", null, 404),
      new AdminCall("DELETE", "/v1/dumps/20200101T000000Z", null, 404),
      new AdminCall("POST", "/v1/retention", "{\"dryRun\": true}", 200),
      new AdminCall("POST", "/v1/retention", "{\"dryRun\": 1}", 400),
      new AdminCall("POST", "/v1/backups/20000101T000000Z/keep", "{}", 404),
      new AdminCall("DELETE", "/v1/backups/20000101T000000Z/keep", null, 200),
      new AdminCall("POST", "/v1/dumps/not-an-id/keep", "{}", 400));

  @Test
  void everyAdministrationRouteIsRefusedOnTheHookSocketNamingTheRouteAndTheAdminSocket()
      throws Exception {
    for (AdminCall call : ADMIN_ROUTES) {
      UnixHttp.Response r = send(config.socket(), call);
      String route = call.method() + " " + call.path().replaceFirst("\\?.*", "");
      assertEquals(403, r.status(), route + ": " + r.text());
      assertEquals("{\"error\":\"" + route + " is an administration route, refused on the hook"
          + " socket " + config.socket() + " (it serves only WAL push and fetch for PostgreSQL);"
          + " use the admin socket " + config.adminSocket() + " (http.admin-socket), as the"
          + " pgsidecar CLI does\",\"route\":\"" + route + "\",\"adminSocket\":\""
          + config.adminSocket() + "\"}\n", r.text());
    }
  }

  @Test
  void pathsThatNormaliseToAnAdministrationRouteAreRefusedToo() throws Exception {
    for (String path : List.of("/v1/wal/../backups", "/v1//backups", "//v1/status",
        "/v1/wal/%2e%2e/status", "/v1/./dumps", "/v1/backups/", "/v1/wal/push/../../status")) {
      UnixHttp.Response r = UnixHttp.get(config.socket(), path);
      assertEquals(403, r.status(), path + ": " + r.text());
    }
    for (String path : List.of("/V1/backups", "/healthz/../v1/status")) {
      int status = UnixHttp.get(config.socket(), path).status();
      assertTrue(status == 403 || status == 404, path + ": " + status);
    }
  }

  @Test
  void everyAdministrationRouteIsServedOnTheAdminSocket() throws Exception {
    for (AdminCall call : ADMIN_ROUTES) {
      UnixHttp.Response r = send(config.adminSocket(), call);
      assertEquals(call.adminStatus(), r.status(), call + ": " + r.text());
    }
    assertEquals("db1", new JsonObject(UnixHttp.get(config.adminSocket(), "/v1/status").text())
        .getString("cluster"));
    assertEquals("[ ]", UnixHttp.get(config.adminSocket(), "/v1/backups").text());
    assertTrue(UnixHttp.post(config.adminSocket(), "/v1/retention", "{\"dryRun\": true}").text()
        .startsWith("{\"dryRun\":true,\"trigger\":\"request\","));
  }

  @Test
  void theCliAsksTheAdminSocket() throws Exception {
    Map<String, String> env = Map.of("PGSIDECAR_CLUSTER", "db1",
        "PGSIDECAR_STORAGE_PATH", work.resolve("repo").toString(),
        "PGSIDECAR_SOCKET", config.socket().toString(),
        "PGSIDECAR_HTTP_ADMIN_SOCKET", config.adminSocket().toString());
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new String[] {"backup", "list", "--output", "json"}, env,
        new PrintWriter(out), new PrintWriter(err));
    assertEquals(0, code, out + "\n" + err);
    assertEquals("[ ]", out.toString().strip());
  }

  @Test
  void hookSocketServesWalOfThisClusterAndOfTheRestoreSourceOnly() throws Exception {
    byte[] own = store("db1", 1);
    byte[] source = store("old", 2);
    byte[] other = store("other", 3);
    assertArrayEquals(own, UnixHttp.get(config.socket(), "/v1/wal/" + SEG).body());
    assertArrayEquals(own, UnixHttp.get(config.socket(), "/v1/wal/" + SEG + "?cluster=db1").body());
    assertArrayEquals(source, UnixHttp.get(config.socket(), "/v1/wal/" + SEG + "?cluster=old").body());

    for (String query : List.of("?cluster=other", "?cluster=", "?cluster=db1&cluster=other",
        "?cluster=..%2Fother")) {
      UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/" + SEG + query);
      assertEquals(403, r.status(), query + ": " + r.text());
      JsonObject body = new JsonObject(r.text());
      assertEquals("GET /v1/wal/" + SEG, body.getString("route"));
      assertEquals(config.adminSocket().toString(), body.getString("adminSocket"));
    }
    assertEquals("WAL of cluster 'other' is not served on the hook socket " + config.socket()
        + ": it serves only 'db1' and 'old' (cluster, restore.from-cluster). Read other clusters'"
        + " archives through the admin socket " + config.adminSocket() + " (http.admin-socket), or"
        + " set restore.from-cluster in the agent's configuration for a restore from that cluster",
        new JsonObject(UnixHttp.get(config.socket(), "/v1/wal/" + SEG + "?cluster=other").text())
            .getString("error"));

    assertArrayEquals(other, UnixHttp.get(config.adminSocket(), "/v1/wal/" + SEG + "?cluster=other").body());
  }

  @Test
  void hookSocketStillArchivesAndAnswersTheProbes() throws Exception {
    UnixHttp.Response push = UnixHttp.post(config.socket(), "/v1/wal/push", "{\"path\":\"pg_wal/" + SEG + "\"}");
    assertEquals(400, push.status(), push.text()); // the route answered: PostgreSQL has not marked it ready
    assertEquals(200, UnixHttp.get(config.socket(), "/healthz").status());
    UnixHttp.Response unknown = UnixHttp.get(config.socket(), "/nothing");
    assertEquals(404, unknown.status());
    assertEquals("{\"error\":\"no route GET /nothing\"}\n", unknown.text());
  }

  @Test
  void readinessBodiesNameNoAccountEndpointContainerOrPath() throws Exception {
    storage.failWith(new StorageException("probe https://mystorageaccount.blob.core.windows.net/"
        + "pg-backups/prod/db1/: AuthorizationFailure; check the key in /secrets/azure/key"));
    String expected = "{\"status\":\"not ready\",\"checks\":{\"agent\":\"ok\","
        + "\"storage\":\"storage is not reachable (details in the agent's log)\","
        + "\"postgres\":\"PostgreSQL does not answer (details in the agent's log)\"}}\n";
    for (Path socket : List.of(config.socket(), config.adminSocket())) {
      UnixHttp.Response r = UnixHttp.get(socket, "/readyz");
      assertEquals(503, r.status());
      assertEquals(expected, r.text());
    }
    HttpResponse<String> metricsPort = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + sidecar.metricsPort() + "/readyz")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(503, metricsPort.statusCode());
    assertEquals(expected, metricsPort.body().endsWith("\n") ? metricsPort.body() : metricsPort.body() + "\n");
  }

  private static UnixHttp.Response send(Path socket, AdminCall call) throws Exception {
    return UnixHttp.exchange(socket, call.method(), call.path(),
        call.body() == null ? null : call.body().getBytes(StandardCharsets.UTF_8));
  }

  private byte[] store(String cluster, long seed) throws Exception {
    byte[] plain = new byte[1000];
    new Random(seed).nextBytes(plain);
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(plain));
    storage.create("prod/" + cluster + "/wal/" + SEG.substring(0, 16) + "/" + SEG + ".xor",
        new ByteArrayInputStream(XorPipeline.encoded(plain)),
        () -> new ObjectMetadata(sha, plain.length, "xor", ""));
    return plain;
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
