package io.pgsidecar.agent.http;

import io.vertx.ext.web.RoutingContext;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * {@code /healthz} (the process answers: liveness) and {@code /readyz} (started and not shutting
 * down: readiness). Neither touches storage: a storage outage must not get the pod restarted,
 * it shows in WAL push results and metrics instead.
 */
public final class Health {

  private final BooleanSupplier ready;

  public Health(BooleanSupplier ready) {
    this.ready = ready;
  }

  public void healthz(RoutingContext ctx) {
    Responses.json(ctx, 200, Map.of("status", "ok"));
  }

  public void readyz(RoutingContext ctx) {
    if (ready.getAsBoolean()) {
      Responses.json(ctx, 200, Map.of("status", "ready"));
    } else {
      Responses.json(ctx, 503, Map.of("status", "not ready"));
    }
  }
}
