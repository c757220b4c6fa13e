package io.pgsidecar.agent.http;

import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;

/**
 * {@code /healthz} and {@code /readyz}, served on the API socket and on the metrics port (the
 * kubelet's probes cannot reach a unix socket).
 *
 * <ul>
 *   <li>{@code /healthz}, liveness: answered straight from the event loop, so it fails exactly
 *       when the event loop is stuck or the process is gone. It never looks at storage or
 *       PostgreSQL: an outage there must not get the container restarted.</li>
 *   <li>{@code /readyz}, readiness: the agent is started and not shutting down, and every
 *       registered {@link Check} passes (storage reachable, PostgreSQL reachable when required).
 *       Checks may block, so they run on the blocking executor; a 503 names every failing check
 *       and why.</li>
 * </ul>
 */
public final class Health {

  /** One readiness condition: empty when fine, else the reason. May block (storage, JDBC). */
  @FunctionalInterface
  public interface Check {
    Optional<String> problem() throws Exception;
  }

  /** The outcome of every check: {@code checks} maps a name to {@code ok} or the reason. */
  public record Report(boolean ready, Map<String, String> checks) {
    public Map<String, Object> body() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("status", ready ? "ready" : "not ready");
      m.put("checks", checks);
      return m;
    }
  }

  private record Named(String name, Check check) {}

  private final BooleanSupplier started;
  private final Executor blocking;
  private final List<Named> checks = new CopyOnWriteArrayList<>();

  /** {@code started}: true between the end of start-up and the beginning of shutdown. */
  public Health(BooleanSupplier started, Executor blocking) {
    this.started = started;
    this.blocking = blocking;
  }

  /** Adds a readiness check, shown under {@code name} in the report. */
  public Health add(String name, Check check) {
    checks.add(new Named(name, check));
    return this;
  }

  /** Runs every check now (blocking); a check that throws fails with its message. */
  public Report report() {
    Map<String, String> out = new LinkedHashMap<>();
    boolean ready = started.getAsBoolean();
    out.put("agent", ready ? "ok" : "not started, or shutting down");
    for (Named n : checks) {
      String problem;
      try {
        problem = n.check().problem().orElse(null);
      } catch (Exception e) {
        problem = e.getMessage() == null ? e.toString() : e.getMessage();
      }
      out.put(n.name(), problem == null ? "ok" : problem);
      ready &= problem == null;
    }
    return new Report(ready, out);
  }

  /** The report without blocking the caller's thread. */
  public CompletableFuture<Report> reportAsync() {
    return CompletableFuture.supplyAsync(this::report, blocking);
  }

  public void healthz(RoutingContext ctx) {
    Responses.json(ctx, 200, Map.of("status", "ok"));
  }

  public void readyz(RoutingContext ctx) {
    reportAsync().whenComplete((r, e) -> ctx.vertx().runOnContext(v -> {
      if (e != null) {
        Responses.json(ctx, 503, Map.of("status", "not ready", "error", String.valueOf(e)));
      } else {
        Responses.json(ctx, r.ready() ? 200 : 503, r.body());
      }
    }));
  }
}
