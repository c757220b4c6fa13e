package io.pgsidecar.agent.dump;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.http.JobBodies;
import io.pgsidecar.agent.http.Problems;
import io.pgsidecar.agent.http.Reply;
import io.pgsidecar.core.job.JobException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;

/**
 * The dump part of the agent's HTTP API:
 * <ul>
 *   <li>{@code POST /v1/dumps} body {@code {"databases": ["shop"], "label": "..."}} (both
 *       optional): 202 with the new id; with {@code ?wait=true} answers when the dump ends, 200
 *       with its status (manifest) or 500 with the failure (503 when storage failed); 409 with
 *       {@code runningId} while another dump (or a base backup, when overlap is off) runs;</li>
 *   <li>{@code GET /v1/dumps}: every dump, oldest first, each with its {@code state}
 *       (COMPLETE, FAILED, INCOMPLETE, RUNNING);</li>
 *   <li>{@code GET /v1/dumps/{id}}: 200 with the status, 202 while it runs, 404 when unknown;</li>
 *   <li>{@code DELETE /v1/dumps/{id}}: 200, 404 when unknown, 409 while it runs.</li>
 * </ul>
 * Failures are answered by {@link Problems}, as on every route (storage down is 503). The
 * service runs through {@link Blocking}, never on the event loop; a waiting request holds no thread.
 */
public final class DumpRoutes {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EXAMPLE = "{\"databases\": [\"shop\"], \"label\": \"monthly\"}";

  private final DumpService service;
  private final Blocking blocking;

  /** On virtual threads of its own (tests). */
  public DumpRoutes(DumpService service) {
    this(service, new Blocking(Executors.newVirtualThreadPerTaskExecutor()));
  }

  public DumpRoutes(DumpService service, Blocking blocking) {
    this.service = service;
    this.blocking = blocking;
  }

  public void register(Router router) {
    // No upload directory: the working directory of the agent may be read-only.
    router.post("/v1/dumps").handler(BodyHandler.create(false).setBodyLimit(64 * 1024));
    router.post("/v1/dumps").handler(this::create);
    router.get("/v1/dumps").handler(this::list);
    router.get("/v1/dumps/:id").handler(this::show);
    router.delete("/v1/dumps/:id").handler(this::delete);
  }

  private void answer(RoutingContext ctx, Callable<Reply> work) {
    blocking.answer(ctx, JSON, work);
  }

  /** What a POST asks for. */
  record Request(List<String> databases, String label) {}

  private void create(RoutingContext ctx) {
    boolean wait = JobBodies.waits(ctx);
    answer(ctx, () -> {
      Request request = request(ctx.body() == null ? null : ctx.body().asString());
      DumpService.Started started = service.start(request.databases(), request.label());
      String id = started.status().id();
      if (!wait) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("state", started.status().state());
        m.put("location", "/v1/dumps/" + id);
        return new Reply(202, m);
      }
      Blocking.answerWhen(ctx, JSON, started.result(),
          m -> new Reply(200, DumpStatus.complete(m)), t -> {
            // the failure carries id and stderr already; a failure before it ran gets the id
            Problems.Problem p = Problems.of(t, null);
            p.body().putIfAbsent("id", id);
            return new Reply(p.status(), p.body());
          });
      return null;
    });
  }

  private void list(RoutingContext ctx) {
    answer(ctx, () -> new Reply(200, service.list()));
  }

  private void show(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    answer(ctx, () -> {
      Optional<DumpStatus> status = service.show(id);
      if (status.isEmpty()) {
        throw notFound(id);
      }
      return new Reply(status.get().state() == DumpStatus.State.RUNNING ? 202 : 200, status.get());
    });
  }

  private void delete(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    answer(ctx, () -> {
      if (!service.delete(id)) {
        throw notFound(id);
      }
      return new Reply(200, Map.of("deleted", id));
    });
  }

  private static JobException notFound(String id) {
    return JobException.notFound("no dump " + id + " in the repository; see GET /v1/dumps");
  }

  /**
   * Parses a POST body; an empty body asks for the configured databases and no label.
   *
   * @throws JobException INVALID_INPUT naming what is wrong
   */
  static Request request(String text) {
    JsonObject body = JobBodies.object(text, EXAMPLE);
    String label = JobBodies.label(body);
    List<String> databases = new ArrayList<>();
    Object dbs = body.getValue("databases");
    if (dbs != null) {
      if (!(dbs instanceof JsonArray array)) {
        throw JobException.invalidInput("databases must be a list of database names");
      }
      for (Object db : array) {
        if (!(db instanceof String name) || name.isEmpty()) {
          throw JobException.invalidInput("databases must be a list of database names");
        }
        databases.add(name);
      }
    }
    return new Request(databases, label);
  }
}
