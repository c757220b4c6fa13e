package io.pgsidecar.agent.metrics;

import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.http.Health;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.vertx.core.json.JsonObject;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.util.Map;

/**
 * The Prometheus endpoint: {@code GET /metrics} on its own TCP port ({@code metrics.host},
 * {@code metrics.port}), plus the two probe endpoints {@code /healthz} and {@code /readyz} when a
 * {@link Health} is given: the kubelet's probes cannot reach the API's unix socket, and this
 * port is the one the pod exposes anyway. Nothing else is there, so whoever reaches this port
 * can never reach the WAL or backup API. The scrape is rendered on a worker thread: the JVM
 * binders call MXBeans, which do not belong on an event loop.
 */
public final class MetricsServer {

  /** Where a metrics-only server (no probes) scrapes: a virtual thread per scrape. */
  private static final Blocking SCRAPES = new Blocking(
      java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
  private final HttpServer server;

  private MetricsServer(HttpServer server) {
    this.server = server;
  }

  /** False when {@code metrics.port} is 0: the listener is disabled. */
  public static boolean enabled(PgsidecarConfig.Metrics config) {
    return config.port() > 0;
  }

  /** Listens on {@code metrics.host:metrics.port}; call only when {@link #enabled} holds. */
  public static Future<MetricsServer> start(Vertx vertx, PgsidecarConfig.Metrics config, AgentMetrics metrics) {
    return start(vertx, config, metrics, null);
  }

  /** Also serves {@code /healthz} and {@code /readyz} of {@code health} (null: only /metrics). */
  public static Future<MetricsServer> start(Vertx vertx, PgsidecarConfig.Metrics config,
      AgentMetrics metrics, Health health) {
    if (!enabled(config)) {
      return Future.failedFuture(new IllegalArgumentException(
          "metrics.port is 0, which disables the metrics listener; set metrics.port to serve /metrics"));
    }
    return start(vertx, config.host(), config.port(), metrics, health);
  }

  /** Listens on {@code host:port}; port 0 picks a free one (tests), see {@link #port()}. */
  public static Future<MetricsServer> start(Vertx vertx, String host, int port, AgentMetrics metrics) {
    return start(vertx, host, port, metrics, null);
  }

  /** Listens on {@code host:port} with the probe endpoints of {@code health} (may be null). */
  public static Future<MetricsServer> start(Vertx vertx, String host, int port, AgentMetrics metrics,
      Health health) {
    // HTTP/1.x only, like the agent's API (Agent#server): Prometheus and the kubelet scrape
    // with HTTP/1.1, and an h2c upgrade is one more protocol to get wrong for nobody
    return vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false))
        .requestHandler(request -> handle(vertx, metrics, health, request))
        .listen(port, host)
        .recover(e -> Future.failedFuture(new IllegalStateException(
            "cannot listen for /metrics on " + host + ":" + port + ": " + e.getMessage()
                + "; pick a free metrics.port or metrics.host", e)))
        .map(MetricsServer::new);
  }

  private static void handle(Vertx vertx, AgentMetrics metrics, Health health,
      HttpServerRequest request) {
    if (health != null && "/healthz".equals(request.path())) {
      json(request, 200, Map.of("status", "ok"));
      return;
    }
    if (health != null && "/readyz".equals(request.path())) {
      health.reportAsync(vertx.getOrCreateContext()).onComplete((r, e) -> {
        if (e != null) {
          json(request, 503, Map.of("status", "not ready", "error", String.valueOf(e)));
        } else {
          json(request, r.ready() ? 200 : 503, r.body());
        }
      });
      return;
    }
    if (!"/metrics".equals(request.path())) {
      request.response().setStatusCode(404).end(health == null
          ? "not found: only /metrics is served on this port\n"
          : "not found: this port serves only /metrics, /healthz and /readyz\n");
      return;
    }
    if (request.method() != HttpMethod.GET && request.method() != HttpMethod.HEAD) {
      request.response().setStatusCode(405).putHeader("Allow", "GET, HEAD").end();
      return;
    }
    // off the event loop the agent's one way (Blocking); a metrics-only server has its own
    (health != null ? health.blocking() : SCRAPES).call(vertx.getOrCreateContext(), metrics::scrape)
        .onComplete(ar -> {
          if (ar.succeeded()) {
            request.response().putHeader("Content-Type", AgentMetrics.contentType())
                .end(ar.result());
          } else {
            request.response().setStatusCode(500).end("scrape failed: " + ar.cause() + "\n");
          }
        });
  }

  private static void json(HttpServerRequest request, int status, Map<String, ?> body) {
    request.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(new JsonObject(new java.util.LinkedHashMap<String, Object>(body)).encode() + "\n");
  }

  /** The port actually bound. */
  public int port() {
    return server.actualPort();
  }

  public Future<Void> close() {
    return server.close();
  }
}
