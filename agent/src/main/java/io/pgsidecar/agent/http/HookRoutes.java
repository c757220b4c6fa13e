package io.pgsidecar.agent.http;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.vertx.core.Handler;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The routes of the hook socket: what PostgreSQL's {@code archive_command} and
 * {@code restore_command} need, and nothing an attacker who can run a command as PostgreSQL's user
 * could use to destroy or read more than that:
 * <ul>
 *   <li>{@code POST /v1/wal/push} (the push handler itself refuses a cluster other than this
 *       one);</li>
 *   <li>{@code GET /v1/wal/{name}} of this cluster, or of {@code restore.from-cluster} (a
 *       restore from another cluster's archive writes {@code wal-archiver fetch --cluster} into
 *       restore_command); any other {@code ?cluster=} is 403;</li>
 *   <li>{@code /healthz} and {@code /readyz} (wal-archiver waits for the agent with them).</li>
 * </ul>
 * Every other {@code /v1/} request (backups, dumps, delete, status, retention) is 403 with a
 * JSON problem that names the route and the admin socket; anything else 404, or 405 for a path
 * above with another method ({@link Refusals}, which the caller registers).
 */
public final class HookRoutes {

  private final Path hookSocket;
  private final Path adminSocket;
  private final Set<String> clusters = new LinkedHashSet<>();

  public HookRoutes(PgsidecarConfig config) {
    this.hookSocket = config.socket();
    this.adminSocket = config.adminSocket();
    clusters.add(config.cluster());
    if (config.restore() != null) {
      config.restore().fromCluster().ifPresent(clusters::add);
    }
  }

  /** Mounts the hook routes on {@code router}, with the same handlers the admin socket uses. */
  public void register(Router router, Health health, Handler<RoutingContext> push,
      Handler<RoutingContext> fetch) {
    router.get("/healthz").handler(health::healthz);
    router.get("/readyz").handler(health::readyz);
    // no file uploads: the agent's working directory may be read-only
    router.post("/v1/wal/push").handler(BodyHandler.create(false).setBodyLimit(64 * 1024))
        .handler(push);
    router.get("/v1/wal/:name").handler(this::ownClustersOnly).handler(fetch);
    router.route("/v1/*").last().handler(this::adminOnly);
    // anything else: 404 (405 for a known path with another method), from Refusals
  }

  /** The clusters whose WAL the hook socket serves: this one, then {@code restore.from-cluster}. */
  public Set<String> clusters() {
    return Set.copyOf(clusters);
  }

  private void ownClustersOnly(RoutingContext ctx) {
    List<String> asked = ctx.queryParams().getAll("cluster");
    if (asked.isEmpty() || asked.size() == 1 && clusters.contains(asked.get(0))) {
      ctx.next();
      return;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", "WAL of cluster " + String.join(", ", asked.stream().map(c -> "'" + c + "'")
        .toList()) + " is not served on the hook socket " + hookSocket + ": it serves only "
        + describe(clusters) + " (cluster, restore.from-cluster). Read other clusters' archives"
        + " through the admin socket " + adminSocket + " (http.admin-socket), or set"
        + " restore.from-cluster in the agent's configuration for a restore from that cluster");
    body.put("route", "GET " + ctx.request().path());
    body.put("adminSocket", adminSocket.toString());
    Responses.json(ctx, 403, body);
  }

  private void adminOnly(RoutingContext ctx) {
    String route = ctx.request().method() + " " + ctx.request().path();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", route + " is an administration route, refused on the hook socket "
        + hookSocket + " (it serves only WAL push and fetch for PostgreSQL); use the admin socket "
        + adminSocket + " (http.admin-socket), as the pgsidecar CLI does");
    body.put("route", route);
    body.put("adminSocket", adminSocket.toString());
    Responses.json(ctx, 403, body);
  }

  private static String describe(Set<String> names) {
    return String.join(" and ", names.stream().map(n -> "'" + n + "'").toList());
  }
}
