package io.pgsidecar.agent.status;

import io.pgsidecar.agent.feature.Feature;
import io.pgsidecar.agent.http.Responses;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code GET /v1/status}: one JSON document an operator (or {@code curl --unix-socket} on the admin socket) reads to
 * see how safe the data is: the cluster, the last archived segment and when, the {@code .ready}
 * backlog, look-ahead and prefetch hits, each feature's part (the last and the running base
 * backup and dump, the next scheduled runs), the recoverable window and the last errors.
 * Everything comes from memory (the window from the last read of the repository), so it answers
 * on the event loop at once even while storage is down.
 */
public final class StatusRoutes {

  private final String cluster;
  private final String storage;
  private final AgentActivity activity;
  private final RepositoryGauges repository;
  private final List<? extends Feature.Running> features;

  public StatusRoutes(String cluster, String storage, AgentActivity activity,
      RepositoryGauges repository, List<? extends Feature.Running> features) {
    this.cluster = cluster;
    this.storage = storage;
    this.activity = activity;
    this.repository = repository;
    this.features = features;
  }

  public void register(Router router) {
    router.get("/v1/status").handler(this::status);
  }

  private void status(RoutingContext ctx) {
    Responses.json(ctx, 200, document());
  }

  /** The status document as plain maps (for tests and the route). */
  public Map<String, Object> document() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cluster", cluster);
    m.put("storage", storage);
    m.put("wal", activity.wal());
    features.forEach(f -> m.putAll(f.status()));
    m.put("recoverable", recoverable());
    m.put("errors", activity.errors().stream().map(AgentActivity.ErrorEntry::toMap).toList());
    return m;
  }

  private Map<String, Object> recoverable() {
    Optional<ArchiveCatalog.Window> w = repository.window();
    if (w.isEmpty()) {
      return null;
    }
    // the repository was read after the last backup; segments archived since extend the window
    Instant to = w.get().lastTime();
    String lastSegment = w.get().lastSegment();
    Instant archived = activity.lastArchivedAt();
    Object archivedName = activity.wal().get("lastArchivedSegment");
    if (archived != null && archived.isAfter(to) && archivedName != null) {
      to = archived;
      lastSegment = archivedName.toString();
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("from", w.get().firstTime().toString());
    r.put("to", to.toString());
    r.put("firstBackup", w.get().firstBackup());
    r.put("lastSegment", lastSegment);
    return r;
  }
}
