package io.pgsidecar.agent.verify;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.http.Reply;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;

/**
 * The restore drill on the admin socket:
 * <ul>
 *   <li>{@code POST /v1/restore-drills}: starts one now, 202; 409 while one runs;</li>
 *   <li>{@code GET /v1/restore-drills}: whether one runs and how the last one ended.</li>
 * </ul>
 */
final class VerifyRoutes {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final DrillService service;
  private final Blocking blocking;

  VerifyRoutes(DrillService service, Blocking blocking) {
    this.service = service;
    this.blocking = blocking;
  }

  void register(Router router) {
    router.post("/v1/restore-drills").handler(this::start);
    router.get("/v1/restore-drills").handler(this::show);
  }

  private void start(RoutingContext ctx) {
    blocking.answer(ctx, JSON, () -> {
      service.start("requested");
      return new Reply(202, Map.of("started", "restore drill", "location", "/v1/restore-drills"));
    });
  }

  private void show(RoutingContext ctx) {
    blocking.answer(ctx, JSON, () -> new Reply(200, service.status()));
  }
}
