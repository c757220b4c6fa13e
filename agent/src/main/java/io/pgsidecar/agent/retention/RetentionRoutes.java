package io.pgsidecar.agent.retention;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.http.Reply;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.retention.PermanentMarks;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.LinkedHashMap;
import java.util.Map;

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
 * The work runs through {@link Blocking}; a {@link JobException} is answered by its kind.
 */
public final class RetentionRoutes {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_NOTE = 200;

  private final RetentionService service;
  private final Blocking blocking;

  public RetentionRoutes(RetentionService service, Blocking blocking) {
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

  private void apply(RoutingContext ctx) {
    String text = text(ctx);
    blocking.answer(ctx, JSON, () -> {
      Object d = body(text).getValue("dryRun", false);
      if (!(d instanceof Boolean dryRun)) {
        throw JobException.invalidInput("dryRun must be true or false");
      }
      return new Reply(200, RetentionReport.of(service.apply(dryRun, "request")));
    });
  }

  private void mark(RoutingContext ctx, String kind, boolean keep) {
    String id = ctx.pathParam("id");
    String text = keep ? text(ctx) : null;
    PermanentMarks.Kind k = kind.equals("backups") ? PermanentMarks.Kind.BASE_BACKUP : PermanentMarks.Kind.DUMP;
    blocking.answer(ctx, JSON, () -> {
      Object n = body(text).getValue("note", "");
      if (!(n instanceof String note) || note.length() > MAX_NOTE
          || note.chars().anyMatch(Character::isISOControl)) {
        throw JobException.invalidInput("note must be a string of at most " + MAX_NOTE
            + " characters without control characters");
      }
      boolean changed = keep ? service.keep(k, id, note) : service.release(k, id);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", id);
      m.put("permanent", keep);
      m.put("changed", changed);
      return new Reply(200, m);
    });
  }

  private static String text(RoutingContext ctx) {
    return ctx.body() == null ? null : ctx.body().asString();
  }

  private static JsonObject body(String text) {
    if (text == null || text.isBlank()) {
      return new JsonObject();
    }
    try {
      return new JsonObject(text);
    } catch (RuntimeException e) {
      throw JobException.invalidInput("request body must be a JSON object like {\"dryRun\": true}");
    }
  }
}
