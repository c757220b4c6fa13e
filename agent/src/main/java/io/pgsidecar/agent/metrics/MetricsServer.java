package io.pgsidecar.agent.metrics;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;

/**
 * The Prometheus endpoint: {@code GET /metrics} on its own TCP port ({@code metrics.host},
 * {@code metrics.port}) and nothing else there, so a scraper reaching that port can never reach
 * the WAL or backup API. The scrape is rendered on a worker thread: the JVM binders call MXBeans,
 * which do not belong on an event loop.
 */
public final class MetricsServer {
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
    if (!enabled(config)) {
      return Future.failedFuture(new IllegalArgumentException(
          "metrics.port is 0, which disables the metrics listener; set metrics.port to serve /metrics"));
    }
    return start(vertx, config.host(), config.port(), metrics);
  }

  /** Listens on {@code host:port}; port 0 picks a free one (tests), see {@link #port()}. */
  public static Future<MetricsServer> start(Vertx vertx, String host, int port, AgentMetrics metrics) {
    return vertx.createHttpServer()
        .requestHandler(request -> handle(vertx, metrics, request))
        .listen(port, host)
        .recover(e -> Future.failedFuture(new IllegalStateException(
            "cannot listen for /metrics on " + host + ":" + port + ": " + e.getMessage()
                + "; pick a free metrics.port or metrics.host", e)))
        .map(MetricsServer::new);
  }

  private static void handle(Vertx vertx, AgentMetrics metrics, HttpServerRequest request) {
    if (!"/metrics".equals(request.path())) {
      request.response().setStatusCode(404).end("not found: only /metrics is served on this port\n");
      return;
    }
    if (request.method() != HttpMethod.GET && request.method() != HttpMethod.HEAD) {
      request.response().setStatusCode(405).putHeader("Allow", "GET, HEAD").end();
      return;
    }
    vertx.executeBlocking(metrics::scrape, false).onComplete(ar -> {
      if (ar.succeeded()) {
        request.response().putHeader("Content-Type", AgentMetrics.contentType()).end(ar.result());
      } else {
        request.response().setStatusCode(500).end("scrape failed: " + ar.cause() + "\n");
      }
    });
  }

  /** The port actually bound. */
  public int port() {
    return server.actualPort();
  }

  public Future<Void> close() {
    return server.close();
  }
}
