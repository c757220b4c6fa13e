package io.pgsidecar.agent.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * The one way a route leaves the event loop. Every step that may block (files, storage, codecs,
 * PostgreSQL) runs on the agent's blocking executor (a virtual thread per task, so no job can
 * hold a thread a WAL push needs); the answer is written back on the request's own context. A
 * failure is answered by {@link Problems}, the same way on every route.
 *
 * <pre>{@code
 * router.get("/v1/backups").handler(ctx -> blocking.answer(ctx, JSON, () -> new Reply(200, service.list())));
 * }</pre>
 */
public final class Blocking {

  /** Work that writes its own answer (a stream, a hand-off); a failure before it wrote is answered. */
  @FunctionalInterface
  public interface Streaming {
    void run() throws Exception;
  }

  private final Executor executor;

  public Blocking(Executor executor) {
    this.executor = executor;
  }

  /** The executor itself, for services that run their own background work on it. */
  public Executor executor() {
    return executor;
  }

  /**
   * Runs {@code work} off the event loop and answers its reply as JSON ({@code json} writes it),
   * or its failure as a problem. A null reply means the work answers later by itself
   * ({@link #answerWhen}).
   */
  public void answer(RoutingContext ctx, ObjectMapper json, Callable<Reply> work) {
    call(ctx, work).onComplete(ar -> {
      if (ar.failed()) {
        Problems.answer(ctx, ar.cause(), null);
      } else if (ar.result() != null) {
        send(ctx, ar.result(), json);
      }
    });
  }

  /**
   * Runs {@code work} off the event loop; the future completes on the request's context, where the
   * route answers (a failure with {@link Problems#answer}).
   */
  public <T> Future<T> call(RoutingContext ctx, Callable<T> work) {
    return call(ctx.vertx().getOrCreateContext(), work);
  }

  /** The same for a bare request handler (the metrics port): completes on {@code vctx}. */
  public <T> Future<T> call(Context vctx, Callable<T> work) {
    return Future.fromCompletionStage(CompletableFuture.supplyAsync(() -> {
      try {
        return work.call();
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new CompletionException(e);
      }
    }, executor), vctx);
  }

  /**
   * Runs {@code work}, which writes the response itself, off the event loop; a failure before
   * anything was written is answered as a problem of {@code operation}, one after that resets
   * the stream (the client sees a truncated body, never a complete wrong one).
   */
  public void stream(RoutingContext ctx, String operation, Streaming work) {
    executor.execute(() -> {
      try {
        work.run();
      } catch (Exception e) {
        if (ctx.response().headWritten()) {
          ctx.response().reset();
        } else {
          ctx.response().headers().clear();
          Problems.answer(ctx, e, operation);
        }
      }
    });
  }

  /**
   * Answers when {@code stage} completes (a job that runs on its own threads): no thread waits
   * meanwhile. {@code failure} builds the problem body (the problem of the failure, with details).
   */
  public static <T> void answerWhen(RoutingContext ctx, ObjectMapper json, CompletionStage<T> stage,
      java.util.function.Function<T, Reply> success,
      java.util.function.Function<Throwable, Reply> failure) {
    Future.fromCompletionStage(stage, ctx.vertx().getOrCreateContext()).onComplete(ar ->
        send(ctx, ar.succeeded() ? success.apply(ar.result()) : failure.apply(ar.cause()), json));
  }

  /** Writes {@code reply} as JSON unless the response is already over (client gone). */
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
