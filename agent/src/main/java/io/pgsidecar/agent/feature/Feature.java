package io.pgsidecar.agent.feature;

import io.pgsidecar.agent.http.Blocking;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * One job of the agent (WAL, base backups, dumps, restore, status...) and everything it
 * contributes, wired the same way for every job by the one registry ({@code Features}, in the
 * agent's root package).
 * A feature is a folder {@code io.pgsidecar.agent.<feature>} with the same parts:
 * <ul>
 *   <li>{@code <X>Service}: the domain logic; no HTTP, no Vert.x; fails with
 *       {@link io.pgsidecar.core.job.JobException};</li>
 *   <li>{@code <X>Routes}: its admin-socket routes, running the service through {@link Blocking};</li>
 *   <li>{@code <X>Command}: its {@code pgsidecar} subcommand (picocli);</li>
 *   <li>{@code <X>Metrics}: its meters, fed by the service's events;</li>
 *   <li>{@code <X>Feature}: this interface, which puts them together.</li>
 * </ul>
 * The CLI side ({@link #commands()}) needs no running agent; the daemon side ({@link #open}) is
 * built once per agent from the shared pieces of the {@link FeatureContext}.
 */
public interface Feature {

  /** The feature's name in logs and errors: {@code "base backups"}, {@code "dumps"}. */
  String name();

  /** Its picocli command classes, added to {@code pgsidecar}; none for a daemon-only feature. */
  default List<Class<?>> commands() {
    return List.of();
  }

  /**
   * Subcommands it adds under another feature's command, by that command's name: verification
   * adds {@code verify} under {@code backup}, {@code dump} and {@code wal}, so that a feature
   * extends another's command without importing its package.
   */
  default Map<String, List<Class<?>>> subcommands() {
    return Map.of();
  }

  /**
   * The daemon side for one agent; {@link Running#NONE} for a CLI-only feature.
   *
   * @throws IllegalArgumentException for a configuration it cannot run with (a bad cron
   *     expression), naming the key
   */
  default Running open(FeatureContext context) throws IOException {
    return Running.NONE;
  }

  /** A feature in a running agent; every method has a do-nothing default. */
  interface Running extends AutoCloseable {

    /** For features without a daemon side. */
    Running NONE = new Running() {};

    /** Adds its routes to the admin socket (and TCP); before the agent listens. */
    default void adminRoutes(Router router, Blocking blocking) {}

    /** Its part of {@code GET /v1/status}, in the order features are registered. */
    default Map<String, Object> status() {
      return Map.of();
    }

    /** Once the agent listens: arms its schedules, starts its background work. */
    default void start() {}

    /**
     * Reads the gauges this feature keeps of the repository (retained dumps, the newest one);
     * at start-up ({@code atStart}, which also seeds the last success) and after any job
     * finished, on a thread of the agent's repository reader, never a request's.
     */
    default void readRepository(boolean atStart) throws IOException {}

    /** Every few seconds on the agent's housekeeping timer (schedule gauges); must not block long. */
    default void housekeeping() {}

    /** Stops its schedules and cancels its running work; the agent closes features in reverse. */
    @Override
    default void close() {}
  }
}
