package io.pgsidecar.agent.wal.push;

import io.pgsidecar.agent.http.Responses;
import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * HTTP adapter of {@code POST /v1/wal/push} with body {@code {"path":"pg_wal/<file>"}}: parses
 * the request on the event loop, runs the push on a virtual thread, answers 200 with the stored
 * key and SHA-256 only after the object is durable.
 */
public final class WalPushHandler {

  private final WalPushService service;
  private final Executor blocking;

  public WalPushHandler(WalPushService service, Executor blocking) {
    this.service = service;
    this.blocking = blocking;
  }

  public void push(RoutingContext ctx) {
    String path;
    try {
      JsonObject body = ctx.body().asJsonObject();
      path = body == null ? null : body.getString("path");
    } catch (DecodeException | ClassCastException e) {
      Responses.json(ctx, 400, Map.of("error", "the request body is not JSON of the form"
          + " {\"path\":\"pg_wal/<file>\"}: " + e.getMessage()));
      return;
    }
    String requested = path;
    Future.fromCompletionStage(
            CompletableFuture.supplyAsync(() -> {
              try {
                return service.push(requested);
              } catch (java.io.IOException e) {
                throw new java.util.concurrent.CompletionException(e);
              }
            }, blocking),
            ctx.vertx().getOrCreateContext())
        .onSuccess(s -> Responses.json(ctx, 200, Map.of(
            "name", s.name(), "key", s.key(), "sha256", s.plainSha256(),
            "status", s.alreadyThere() ? "already-archived" : "stored")))
        .onFailure(t -> Responses.failure(ctx, "archiving " + requested, t));
  }

}
