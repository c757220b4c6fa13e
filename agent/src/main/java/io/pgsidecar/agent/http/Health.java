package io.pgsidecar.agent.http;

import java.lang.System.Logger.Level;
import io.vertx.ext.web.RoutingContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
 *       with a generic cause given when the check was added ("storage is not reachable"). The
 *       check's own reason names storage accounts, endpoints, containers and paths, so it goes
 *       to the log (once per change), never into the body: the metrics port answers anyone who
 *       can reach the pod.</li>
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

  private record Named(String name, String cause, Check check) {}

  /** What the body says for a failing check added without its own cause. */
  static final String DEFAULT_CAUSE = "failing (details in the agent's log)";

  private static final System.Logger LOG = System.getLogger(Health.class.getName());

  private final BooleanSupplier started;
  private final Blocking blocking;
  private final List<Named> checks = new CopyOnWriteArrayList<>();
  /** The last reason logged per check, so a lasting outage is logged once, not every probe. */
  private final Map<String, String> logged = new ConcurrentHashMap<>();

  /** {@code started}: true between the end of start-up and the beginning of shutdown. */
  public Health(BooleanSupplier started, Executor blocking) {
    this.started = started;
    this.blocking = new Blocking(blocking);
  }

  /** Adds a readiness check, shown under {@code name} in the report with a generic cause. */
  public Health add(String name, Check check) {
    return add(name, DEFAULT_CAUSE, check);
  }

  /**
   * Adds a readiness check, shown under {@code name}; when it fails the report says
   * {@code cause} (no names of accounts, hosts or paths) and the log says the check's reason.
   */
  public Health add(String name, String cause, Check check) {
    checks.add(new Named(name, cause, check));
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
      log(n.name(), problem);
      out.put(n.name(), problem == null ? "ok" : n.cause());
      ready &= problem == null;
    }
    return new Report(ready, out);
  }

  private void log(String name, String problem) {
    String before = problem == null ? logged.remove(name) : logged.put(name, problem);
    if (problem != null && !problem.equals(before)) {
      LOG.log(Level.WARNING, "readiness check '" + name + "' fails: " + problem);
    } else if (problem == null && before != null) {
      LOG.log(Level.INFO, "readiness check '" + name + "' passes again");
    }
  }

  /** The report without blocking the caller's thread; completes on {@code vctx}. */
  public io.vertx.core.Future<Report> reportAsync(io.vertx.core.Context vctx) {
    return blocking.call(vctx, this::report);
  }

  /** The one way off the event loop, for a server that shares this agent's (the metrics port). */
  public Blocking blocking() {
    return blocking;
  }

  public void healthz(RoutingContext ctx) {
    Responses.json(ctx, 200, Map.of("status", "ok"));
  }

  public void readyz(RoutingContext ctx) {
    reportAsync(ctx.vertx().getOrCreateContext()).onComplete((r, e) -> {
      if (e != null) {
        LOG.log(Level.WARNING, "readiness checks could not run: " + e);
        Responses.json(ctx, 503, Map.of("status", "not ready",
            "error", "readiness checks could not run (details in the agent's log)"));
      } else {
        Responses.json(ctx, r.ready() ? 200 : 503, r.body());
      }
    });
  }
}
