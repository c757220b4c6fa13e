package io.pgsidecar.agent.http;

import io.pgsidecar.core.storage.StorageException;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Writing JSON answers and turning exceptions into statuses, the same way for every route. */
public final class Responses {

  private static final Logger LOG = Logger.getLogger(Responses.class.getName());

  private Responses() {}

  public static void json(RoutingContext ctx, int status, Map<String, ?> body) {
    json(ctx.response(), status, body);
  }

  /** The same JSON answer on a bare response (Vert.x's refusals come before any routing). */
  public static void json(HttpServerResponse r, int status, Map<String, ?> body) {
    if (r.ended() || r.closed() || r.headWritten()) { // a stream under way cannot change status
      return;
    }
    r.setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .end(new JsonObject(new java.util.LinkedHashMap<String, Object>(body)).encode() + "\n");
  }

  /**
   * Answers a failure: an {@link HttpProblem} with its status; a storage or I/O failure with 503
   * (PostgreSQL will retry; never a 404, which would mean "not in the archive"); anything else 500.
   */
  public static void failure(RoutingContext ctx, String operation, Throwable t) {
    Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (e instanceof HttpProblem p) {
      json(ctx, p.status(), p.body());
      return;
    }
    if (e instanceof StorageException || e instanceof IOException) {
      LOG.log(Level.WARNING, operation + " failed: " + e.getMessage(), e);
      json(ctx, 503, Map.of("error", operation + " failed: " + e.getMessage()));
      return;
    }
    LOG.log(Level.SEVERE, operation + " failed unexpectedly", e);
    json(ctx, 500, Map.of("error", operation + " failed unexpectedly: " + e));
  }
}
