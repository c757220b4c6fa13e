package io.pgsidecar.agent.retention;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.agent.http.JsonWork;
import io.pgsidecar.agent.http.JsonWork.Reply;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.retention.PermanentMarks;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;

/**
 * Retention on the admin API:
 * <ul>
 *   <li>{@code POST /v1/retention} body {@code {"dryRun": true}} (optional): plans and, unless a
 *       dry run, applies retention; 200 with the report ({@link RetentionReport}), 409 while a
 *       run is under way, 503 when storage fails (what was not deleted stays in place);</li>
 *   <li>{@code POST /v1/backups/{id}/keep} body {@code {"note": "..."}} (optional) and
 *       {@code DELETE /v1/backups/{id}/keep}: mark a base backup permanent, release it; the same
 *       under {@code /v1/dumps/{id}/keep}. 200 with {@code {"id", "permanent", "changed"}}, 404
 *       for an unknown or unfinished backup, 400 for a malformed id.</li>
 * </ul>
 * Work runs on the blocking executor; a {@link JobException} becomes its kind's status.
 */
public final class RetentionRoutes {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_NOTE = 200;

  private final RetentionService service;
  private final Executor blocking;

  public RetentionRoutes(RetentionService service, Executor blocking) {
    this.service = service;
    this.blocking = blocking;
  }

  public void register(Router router) {
    router.post("/v1/retention").handler(BodyHandler.create(false).setBodyLimit(4096));
    router.post("/v1/retention").handler(this::apply);
    for (String kind : new String[] {"backups", "dumps"}) {
      router.post("/v1/" + kind + "/:id/keep").handler(BodyHandler.create(false).setBodyLimit(4096));
      router.post("/v1/" + kind + "/:id/keep").handler(ctx -> mark(ctx, kind, true));
      router.delete("/v1/" + kind + "/:id/keep").handler(ctx -> mark(ctx, kind, false));
    }
  }

  private void run(RoutingContext ctx, Callable<Reply> work) {
    JsonWork.run(ctx, blocking, work, RetentionRoutes::failure, JSON);
  }

  private void apply(RoutingContext ctx) {
    boolean dryRun;
    try {
      JsonObject body = body(ctx);
      Object d = body.getValue("dryRun", false);
      if (!(d instanceof Boolean b)) {
        throw new IllegalArgumentException("dryRun must be true or false");
      }
      dryRun = b;
    } catch (IllegalArgumentException e) {
      JsonWork.send(ctx, new Reply(400, JsonWork.error(e.getMessage())), JSON);
      return;
    }
    run(ctx, () -> new Reply(200, RetentionReport.of(service.apply(dryRun, "request"))));
  }

  private void mark(RoutingContext ctx, String kind, boolean keep) {
    String id = ctx.pathParam("id");
    String note;
    try {
      Object n = keep ? body(ctx).getValue("note", "") : "";
      if (!(n instanceof String s) || s.length() > MAX_NOTE || s.chars().anyMatch(Character::isISOControl)) {
        throw new IllegalArgumentException("note must be a string of at most " + MAX_NOTE
            + " characters without control characters");
      }
      note = (String) n;
    } catch (IllegalArgumentException e) {
      JsonWork.send(ctx, new Reply(400, JsonWork.error(e.getMessage())), JSON);
      return;
    }
    PermanentMarks.Kind k = kind.equals("backups") ? PermanentMarks.Kind.BASE_BACKUP : PermanentMarks.Kind.DUMP;
    run(ctx, () -> {
      boolean changed = keep ? service.keep(k, id, note) : service.release(k, id);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", id);
      m.put("permanent", keep);
      m.put("changed", changed);
      return new Reply(200, m);
    });
  }

  private static JsonObject body(RoutingContext ctx) {
    String text = ctx.body() == null ? null : ctx.body().asString();
    if (text == null || text.isBlank()) {
      return new JsonObject();
    }
    try {
      return new JsonObject(text);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("request body must be a JSON object like {\"dryRun\": true}");
    }
  }

  /** One status per kind, as every job's routes answer it. */
  static int status(JobException.Kind kind) {
    return switch (kind) {
      case INVALID_INPUT -> 400;
      case NOT_FOUND -> 404;
      case CONFLICT -> 409;
      case REFUSED -> 403;
      case VERIFICATION_FAILED -> 422;
      case STORAGE_UNAVAILABLE -> 503;
      case FAILED -> 500;
    };
  }

  private static Reply failure(Exception e) {
    if (e instanceof JobException j) {
      Map<String, Object> err = JsonWork.error(j.getMessage());
      err.put("kind", j.kind().name());
      err.putAll(j.details());
      return new Reply(status(j.kind()), err);
    }
    return JsonWork.unexpected(e);
  }
}
