package io.pgsidecar.agent.backup;

import static io.pgsidecar.agent.http.JsonWork.error;
import static io.pgsidecar.agent.http.JsonWork.message;

import io.pgsidecar.agent.http.JsonWork;
import io.pgsidecar.agent.http.JsonWork.Reply;
import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.repo.BackupManifest;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.lang.System.Logger.Level;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/**
 * The base backup part of the agent's HTTP API:
 * <ul>
 *   <li>{@code POST /v1/backups} body {@code {"label": "..."}} (optional): 202 with the new id;
 *       with {@code ?wait=true} answers when the backup ends, 200 with its manifest;</li>
 *   <li>{@code GET /v1/backups}: the complete backups, oldest first;</li>
 *   <li>{@code GET /v1/backups/{id}}: 200 manifest; 202 progress while it runs; 404 otherwise
 *       (with the error when it is the last backup and it failed);</li>
 *   <li>{@code DELETE /v1/backups/{id}[?force=true]}: 200; 409 for the only complete backup.</li>
 * </ul>
 * Errors are {@code {"error": "..."}}; a 409 for a running backup adds {@code runningId}.
 * Storage calls run on virtual threads, never on the event loop, and never on the worker pool the
 * WAL push may need; a waiting request holds no thread at all.
 */
public final class BackupRoutes {

  private static final System.Logger LOG = System.getLogger(BackupRoutes.class.getName());
  private static final int MAX_LABEL = 200;

  private final BackupService service;
  private final Executor blocking;

  public BackupRoutes(BackupService service) {
    this(service, Executors.newVirtualThreadPerTaskExecutor());
  }

  public BackupRoutes(BackupService service, Executor blocking) {
    this.service = service;
    this.blocking = blocking;
  }

  public void register(Router router) {
    // no upload directory: the agent's working directory may be read-only
    router.post("/v1/backups").handler(BodyHandler.create(false).setBodyLimit(16 * 1024));
    router.post("/v1/backups").handler(this::create);
    router.get("/v1/backups").handler(this::list);
    router.get("/v1/backups/:id").handler(this::show);
    router.delete("/v1/backups/:id").handler(this::delete);
  }

  private void run(RoutingContext ctx, Callable<Reply> work) {
    JsonWork.run(ctx, blocking, work, BackupRoutes::failure, BackupManifest.mapper());
  }

  private static void send(RoutingContext ctx, Reply reply) {
    JsonWork.send(ctx, reply, BackupManifest.mapper());
  }

  private void create(RoutingContext ctx) {
    String label;
    try {
      label = label(ctx);
    } catch (IllegalArgumentException e) {
      send(ctx, new Reply(400, error(e.getMessage())));
      return;
    }
    boolean wait = "true".equals(ctx.queryParams().get("wait"));
    Context vctx = ctx.vertx().getOrCreateContext();
    run(ctx, () -> {
      RunningBackup b = service.start(label);
      if (!wait) {
        var m = new LinkedHashMap<String, Object>(b.progress().toMap());
        m.put("location", "/v1/backups/" + b.id());
        return new Reply(202, m);
      }
      // Answer when the backup ends; no thread waits meanwhile.
      Future.fromCompletionStage(b.result(), vctx).onComplete(ar -> {
        if (ar.succeeded()) {
          send(ctx, new Reply(200, ar.result()));
        } else {
          Map<String, Object> err = error(message(ar.cause()));
          err.put("id", b.id());
          send(ctx, new Reply(JsonWork.unexpected(ar.cause()).status(), err));
        }
      });
      return null;
    });
  }

  private void list(RoutingContext ctx) {
    run(ctx, () -> new Reply(200, service.list()));
  }

  private void show(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    run(ctx, () -> {
      BackupIds.requireValid(id);
      Optional<RunningBackup> r = service.running().filter(b -> b.id().equals(id));
      if (r.isPresent()) {
        return new Reply(202, r.get().progress().toMap());
      }
      Optional<BackupManifest> m = service.show(id);
      if (m.isPresent()) {
        return new Reply(200, m.get());
      }
      Optional<BackupResult> failed = service.lastResult()
          .filter(l -> l.id().equals(id) && !l.success());
      if (failed.isPresent()) {
        Map<String, Object> err = error("base backup " + id + " failed: "
            + failed.get().error().orElse(""));
        err.put("state", "failed");
        return new Reply(404, err);
      }
      return new Reply(404, error("no complete base backup " + id));
    });
  }

  private void delete(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    boolean force = "true".equals(ctx.queryParams().get("force"));
    run(ctx, () -> {
      service.delete(id, force);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("deleted", id);
      return new Reply(200, m);
    });
  }

  private static String label(RoutingContext ctx) {
    String text = ctx.body() == null ? null : ctx.body().asString();
    if (text == null || text.isBlank()) {
      return "";
    }
    JsonObject body;
    try {
      body = new JsonObject(text);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("request body must be a JSON object like "
          + "{\"label\": \"before upgrade\"}");
    }
    Object label = body.getValue("label");
    if (label == null) {
      return "";
    }
    if (!(label instanceof String s) || s.length() > MAX_LABEL
        || s.chars().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException("label must be a string of at most " + MAX_LABEL
          + " characters without control characters");
    }
    return s;
  }

  private static Reply failure(Exception e) {
    if (e instanceof BackupInProgressException p) {
      Map<String, Object> err = error(p.getMessage());
      err.put("runningId", p.runningId());
      return new Reply(409, err);
    }
    if (e instanceof BackupRefusedException) {
      return new Reply(409, error(e.getMessage()));
    }
    if (e instanceof BackupNotFoundException) {
      return new Reply(404, error(e.getMessage()));
    }
    if (e instanceof IllegalArgumentException) {
      return new Reply(400, error(e.getMessage()));
    }
    LOG.log(Level.ERROR, "backup request failed: {0}", message(e));
    return JsonWork.unexpected(e);
  }

}
