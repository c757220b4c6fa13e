package io.pgsidecar.agent.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Context;
import io.vertx.ext.web.RoutingContext;
import io.pgsidecar.core.storage.StorageException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * How the backup and dump routes answer: the work runs on the blocking executor (it lists and
 * reads storage, starts processes), never on the event loop; its {@link Reply} or the failure,
 * mapped to a status by the route's own rules, is written back as JSON on the request's context.
 */
public final class JsonWork {

  /** A status and a body Jackson can write. */
  public record Reply(int status, Object body) {}

  private JsonWork() {}

  /**
   * Runs {@code work} on {@code blocking}; a null reply means the work answers by itself.
   *
   * @param failure turns an exception of the work into the reply (404, 409, 400...)
   */
  public static void run(RoutingContext ctx, Executor blocking, Callable<Reply> work,
      Function<Exception, Reply> failure, ObjectMapper json) {
    Context vctx = ctx.vertx().getOrCreateContext();
    CompletableFuture.supplyAsync(() -> {
      try {
        return work.call();
      } catch (Exception e) {
        return failure.apply(e);
      }
    }, blocking).whenComplete((reply, t) -> vctx.runOnContext(v -> {
      if (t != null) {
        send(ctx, unexpected(t), json);
      } else if (reply != null) {
        send(ctx, reply, json);
      }
    }));
  }

  /**
   * The reply to a failure no route rule names: 503 when storage failed (a
   * {@link StorageException}: the repository is unavailable, as the WAL routes answer it: try
   * again later), else 500 (a PostgreSQL program that failed, a bug).
   */
  public static Reply unexpected(Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    return new Reply(c instanceof StorageException ? 503 : 500, error(message(c)));
  }

  /** The message of {@code t} (of its cause for a CompletionException), never null. */
  public static String message(Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    return c.getMessage() == null ? c.toString() : c.getMessage();
  }

  /** A mutable {@code {"error": message}} that callers may add details to. */
  public static Map<String, Object> error(String message) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("error", message);
    return m;
  }

  /** Writes {@code reply} unless the response is already over (client gone). */
  public static void send(RoutingContext ctx, Reply reply, ObjectMapper json) {
    if (ctx.response().ended() || ctx.response().closed()) {
      return;
    }
    String body;
    try {
      body = json.writeValueAsString(reply.body());
    } catch (JsonProcessingException e) {
      ctx.response().setStatusCode(500).end();
      return;
    }
    ctx.response().setStatusCode(reply.status())
        .putHeader("content-type", "application/json").end(body);
  }
}
