package io.pgsidecar.agent.dump;

import static io.pgsidecar.agent.http.JsonWork.error;
import static io.pgsidecar.agent.http.JsonWork.message;

import io.pgsidecar.agent.http.JsonWork;
import io.pgsidecar.agent.http.JsonWork.Reply;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
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
 *   <li>On every route, a storage failure is 503 (the repository is unavailable: try
 *       again), as on the WAL routes; any other unexpected failure is 500.</li>
 * </ul>
 * Errors are {@code {"error": "..."}}. Storage and PostgreSQL work runs on virtual threads, never
 * on the event loop; a waiting request holds no thread.
 */
public final class DumpRoutes {

  private static final System.Logger LOG = System.getLogger(DumpRoutes.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_LABEL = 200;

  private final DumpService service;
  private final Executor blocking;

  public DumpRoutes(DumpService service) {
    this(service, Executors.newVirtualThreadPerTaskExecutor());
  }

  public DumpRoutes(DumpService service, Executor blocking) {
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

  private void run(RoutingContext ctx, Callable<Reply> work) {
    JsonWork.run(ctx, blocking, work, DumpRoutes::failure, JSON);
  }

  private static void send(RoutingContext ctx, Reply reply) {
    JsonWork.send(ctx, reply, JSON);
  }

  /** What a POST asks for. */
  record Request(List<String> databases, String label) {}

  private void create(RoutingContext ctx) {
    Request request;
    try {
      request = request(ctx.body() == null ? null : ctx.body().asString());
    } catch (IllegalArgumentException e) {
      send(ctx, new Reply(400, error(e.getMessage())));
      return;
    }
    boolean wait = "true".equals(ctx.queryParams().get("wait"));
    Context vctx = ctx.vertx().getOrCreateContext();
    run(ctx, () -> {
      DumpService.Started started = service.start(request.databases(), request.label());
      if (!wait) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", started.status().id());
        m.put("state", started.status().state());
        m.put("location", "/v1/dumps/" + started.status().id());
        return new Reply(202, m);
      }
      Future.fromCompletionStage(started.result(), vctx).onComplete(ar -> {
        if (ar.succeeded()) {
          send(ctx, new Reply(200, DumpStatus.complete(ar.result())));
        } else {
          Map<String, Object> err = error(message(ar.cause()));
          err.put("id", started.status().id());
          if (ar.cause() instanceof DumpFailedException f) {
            err.put("stderr", f.failure().stderr());
          }
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
      Optional<DumpStatus> status = service.show(id);
      if (status.isEmpty()) {
        return new Reply(404, error("no dump " + id + " in the repository; see GET /v1/dumps"));
      }
      return new Reply(status.get().state() == DumpStatus.State.RUNNING ? 202 : 200, status.get());
    });
  }

  private void delete(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    run(ctx, () -> {
      if (!service.delete(id)) {
        return new Reply(404, error("no dump " + id + " in the repository; see GET /v1/dumps"));
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("deleted", id);
      return new Reply(200, m);
    });
  }

  /** Parses a POST body; an empty body asks for the configured databases and no label. */
  static Request request(String text) {
    if (text == null || text.isBlank()) {
      return new Request(List.of(), "");
    }
    JsonObject body;
    try {
      body = new JsonObject(text);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("request body must be a JSON object like"
          + " {\"databases\": [\"shop\"], \"label\": \"monthly\"}");
    }
    Object label = body.getValue("label");
    if (label != null && (!(label instanceof String s) || s.length() > MAX_LABEL
        || s.chars().anyMatch(Character::isISOControl))) {
      throw new IllegalArgumentException("label must be a string of at most " + MAX_LABEL
          + " characters without control characters");
    }
    List<String> databases = new ArrayList<>();
    Object dbs = body.getValue("databases");
    if (dbs != null) {
      if (!(dbs instanceof JsonArray array)) {
        throw new IllegalArgumentException("databases must be a list of database names");
      }
      for (Object db : array) {
        if (!(db instanceof String name) || name.isEmpty()) {
          throw new IllegalArgumentException("databases must be a list of database names");
        }
        databases.add(name);
      }
    }
    return new Request(databases, label == null ? "" : (String) label);
  }

  private static Reply failure(Exception e) {
    if (e instanceof DumpRunningException r) {
      Map<String, Object> err = error(r.getMessage());
      err.put("runningId", r.runningId());
      return new Reply(409, err);
    }
    if (e instanceof IllegalArgumentException) {
      return new Reply(400, error(e.getMessage()));
    }
    LOG.log(Level.ERROR, "dump request failed: {0}", message(e));
    return JsonWork.unexpected(e);
  }

}
