package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.http.JobBodies;
import io.pgsidecar.agent.http.Problems;
import io.pgsidecar.agent.http.Reply;
import io.pgsidecar.core.repo.BackupManifest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
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
 * Failures are answered by {@link Problems} (a 409 for a running backup adds {@code runningId});
 * the service runs through {@link Blocking}, never on the event loop, and a waiting request holds
 * no thread at all.
 */
public final class BackupRoutes {

  private final BackupService service;
  private final Blocking blocking;

  /** On virtual threads of its own (tests). */
  public BackupRoutes(BackupService service) {
    this(service, new Blocking(Executors.newVirtualThreadPerTaskExecutor()));
  }

  public BackupRoutes(BackupService service, Blocking blocking) {
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

  private void answer(RoutingContext ctx, java.util.concurrent.Callable<Reply> work) {
    blocking.answer(ctx, BackupManifest.mapper(), work);
  }

  private void create(RoutingContext ctx) {
    boolean wait = JobBodies.waits(ctx);
    answer(ctx, () -> {
      RunningBackup b = service.start(JobBodies.label(JobBodies.object(ctx,
          "{\"label\": \"before upgrade\"}")));
      if (!wait) {
        var m = new LinkedHashMap<String, Object>(b.progress().toMap());
        m.put("location", "/v1/backups/" + b.id());
        return new Reply(202, m);
      }
      Blocking.answerWhen(ctx, BackupManifest.mapper(), b.result(), m -> new Reply(200, m),
          t -> failed(t, b.id()));
      return null;
    });
  }

  /** The problem of a backup that failed while a request waited for it, with its id. */
  static Reply failed(Throwable t, String id) {
    Problems.Problem p = Problems.of(t, null);
    p.body().put("id", id);
    return new Reply(p.status(), p.body());
  }

  private void list(RoutingContext ctx) {
    answer(ctx, () -> new Reply(200, service.list()));
  }

  private void show(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    answer(ctx, () -> {
      BackupService.requireValid(id);
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
        Map<String, Object> err = Problems.body("base backup " + id + " failed: "
            + failed.get().error().orElse(""));
        err.put("state", "failed");
        return new Reply(404, err);
      }
      return new Reply(404, Problems.body("no complete base backup " + id));
    });
  }

  private void delete(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    boolean force = "true".equals(ctx.queryParams().get("force"));
    answer(ctx, () -> {
      service.delete(id, force);
      return new Reply(200, Map.of("deleted", id));
    });
  }
}
