package io.pgsidecar.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MetricsServerTest {
  private Vertx vertx;
  private AgentMetrics metrics;
  private MetricsServer server;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeEach
  void start() throws Exception {
    // A blocked event loop for more than 200 ms is logged loudly: the scrape must not run there.
    vertx = Vertx.vertx(new VertxOptions().setMaxEventLoopExecuteTime(200).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS));
    metrics = new AgentMetrics("db1");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    server = MetricsServer.start(vertx, new PgsidecarConfig.Metrics(port, "127.0.0.1"), metrics)
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(port, server.port());
  }

  @AfterEach
  void stop() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    metrics.close();
  }

  private HttpResponse<String> send(String method, String path) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void metricsAreServedAsPrometheusText() throws Exception {
    metrics.walReadyPending(4);
    HttpResponse<String> r = send("GET", "/metrics");
    assertEquals(200, r.statusCode());
    assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("content-type").orElseThrow());
    assertEquals(4, Scrape.parse(r.body()).value("pgsidecar_wal_ready_segments", "cluster", "db1"));
  }

  @Test
  void anH2cUpgradeIsAnsweredWithHttp11() throws Exception {
    // the JDK client asks for h2c on http:// (Upgrade: h2c), as some scrapers do; the port
    // speaks HTTP/1.1 only, like the agent's API
    assertEquals(HttpClient.Version.HTTP_2, http.version());
    HttpResponse<String> r = send("GET", "/metrics");
    assertEquals(200, r.statusCode());
    assertEquals(HttpClient.Version.HTTP_1_1, r.version());
  }

  @Test
  void nothingElseIsServedOnTheMetricsPort() throws Exception {
    HttpResponse<String> api = send("POST", "/v1/wal/push");
    assertEquals(404, api.statusCode());
    assertEquals("not found: only /metrics is served on this port\n", api.body());
    assertEquals(404, send("GET", "/healthz").statusCode());
    HttpResponse<String> post = send("POST", "/metrics");
    assertEquals(405, post.statusCode());
    assertEquals("GET, HEAD", post.headers().firstValue("allow").orElseThrow());
  }

  @Test
  void portZeroInTheConfigDisablesTheListener() throws Exception {
    PgsidecarConfig.Metrics disabled = new PgsidecarConfig.Metrics(0, "127.0.0.1");
    assertEquals(false, MetricsServer.enabled(disabled));
    ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
        () -> MetricsServer.start(vertx, disabled, metrics).toCompletionStage().toCompletableFuture().get());
    assertEquals("metrics.port is 0, which disables the metrics listener; set metrics.port to serve /metrics",
        e.getCause().getMessage());
  }

  @Test
  void aTakenPortIsReportedWithWhatToChange() throws Exception {
    // Held by another process's socket (one Vert.x instance would share its own listener).
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
          () -> MetricsServer.start(vertx, "127.0.0.1", taken.getLocalPort(), metrics)
              .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS));
      String message = e.getCause().getMessage();
      assertTrue(message.startsWith("cannot listen for /metrics on 127.0.0.1:" + taken.getLocalPort() + ": "), message);
      assertTrue(message.endsWith("; pick a free metrics.port or metrics.host"), message);
    }
  }
}
