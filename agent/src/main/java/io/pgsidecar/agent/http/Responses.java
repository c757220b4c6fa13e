package io.pgsidecar.agent.http;

import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writing JSON answers, the same way for every route and every refusal; a failure's answer is
 * made by {@link Problems}.
 */
public final class Responses {

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
        .end(new JsonObject(new LinkedHashMap<String, Object>(body)).encode() + "\n");
  }
}
