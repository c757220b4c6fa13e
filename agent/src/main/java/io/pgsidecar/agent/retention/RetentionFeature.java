package io.pgsidecar.agent.retention;

import io.pgsidecar.agent.feature.Feature;
import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.feature.ScheduledJob;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.schedule.CronScheduler;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Retention: {@link RetentionService} (plan with the core planner, apply, keep marks),
 * {@link RetentionRoutes} ({@code POST /v1/retention}, {@code /v1/backups|dumps/{id}/keep}),
 * {@link RetentionCommand} ({@code pgsidecar retention apply}; {@code backup|dump keep|release}
 * are declared on those commands), {@link RetentionMetrics}. It runs after each successful base
 * backup and on {@code schedule.retention}, both only while a {@code retention.*} rule is set
 * (without one nothing is ever removed and nothing runs). A new base backup is seen where every
 * feature sees what a job changed, {@link Running#readRepository}: features never call each
 * other.
 */
public final class RetentionFeature implements Feature {

  @Override
  public String name() {
    return "retention";
  }

  @Override
  public List<Class<?>> commands() {
    return List.of(RetentionCommand.class);
  }

  /** @throws IllegalArgumentException when {@code schedule.retention} is not a cron expression */
  @Override
  public Running open(FeatureContext context) {
    RepositoryLayout layout = new RepositoryLayout(context.config().storage().prefix(),
        context.config().cluster());
    RetentionService service = new RetentionService(context.storage(), layout,
        context.config().retention(), context.pipeline(), Clock.systemUTC(),
        new RetentionMetrics(context.metrics().registry()), context.events());
    Instant createdAt = Instant.now();
    Optional<CronScheduler> schedule = context.config().schedule().retention()
        .filter(s -> !s.isBlank()).filter(s -> context.config().retention().isSet())
        .map(expr -> new CronScheduler("retention", expr,
            CronScheduler.parse("schedule.retention", "30 4 * * *", expr),
            context.config().schedule().timezone(), Clock.systemUTC(), new CronScheduler.Target() {
              /** A restart is no missed run: the first scheduled run is the next one. */
              @Override
              public Optional<Instant> lastStart() {
                return Optional.of(service.lastRun().map(RetentionService.Run::started).orElse(createdAt));
              }

              @Override
              public String start(String label) {
                service.applyLater("schedule");
                return "retention";
              }
            }));
    return new Parts(service, schedule, context.storage(), layout);
  }

  private static final class Parts extends ScheduledJob {
    private final RetentionService service;
    private final Storage storage;
    private final RepositoryLayout layout;
    private volatile String newestBackup;

    Parts(RetentionService service, Optional<CronScheduler> schedule, Storage storage,
        RepositoryLayout layout) {
      super(schedule, (enabled, next) -> {});
      this.service = service;
      this.storage = storage;
      this.layout = layout;
    }

    @Override
    public void adminRoutes(Router router, Blocking blocking) {
      new RetentionRoutes(service, blocking).register(router);
    }

    @Override
    public Map<String, Object> status() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("enabled", service.policy().isSet());
      service.lastRun().ifPresent(r -> {
        m.put("lastRun", r.finished().toString());
        m.put("trigger", r.trigger());
        m.put("removedObjects", r.outcome().map(o -> o.objects()).orElse(0L));
        m.put("removedBytes", r.outcome().map(o -> o.bytes()).orElse(0L));
      });
      service.lastFailure().ifPresent(f -> m.put("lastFailure", f));
      return Map.of("retention", m);
    }

    /**
     * After a job changed the repository: a complete base backup newer than the newest one seen
     * before starts a retention run (at start-up only the newest is noted).
     */
    @Override
    public void readRepository(boolean atStart) throws IOException {
      String newest = null;
      try (Stream<ObjectInfo> s = storage.list(layout.baseRoot())) {
        for (ObjectInfo o : (Iterable<ObjectInfo>) s::iterator) {
          if (o.key().endsWith("/backup.json")) {
            String id = o.key().substring(layout.baseRoot().length(), o.key().length() - "/backup.json".length());
            if (newest == null || io.pgsidecar.core.repo.BackupIds.ORDER.compare(id, newest) > 0) {
              newest = id;
            }
          }
        }
      }
      String before = newestBackup;
      newestBackup = newest;
      if (!atStart && newest != null && !newest.equals(before)) {
        service.applyLater("after base backup " + newest);
      }
    }

    @Override
    protected void stop() {}
  }
}
