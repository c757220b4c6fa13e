package io.pgsidecar.agent.dump;

import io.pgsidecar.agent.feature.Feature;
import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.feature.ScheduledJob;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.schedule.CronScheduler;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Logical dumps: {@link DumpService} (pg_dumpall and pg_dump into storage), {@link DumpRoutes}
 * ({@code /v1/dumps}), {@link DumpCommand} ({@code pgsidecar dump}, whose {@code restore} runs
 * {@link DumpRestorer} in the CLI's process), {@link DumpMetrics}, and the {@code schedule.dump}
 * schedule ({@link DumpScheduler}).
 */
public final class DumpFeature implements Feature {

  @Override
  public String name() {
    return "dumps";
  }

  @Override
  public List<Class<?>> commands() {
    return List.of(DumpCommand.class);
  }

  /** @throws IllegalArgumentException when {@code schedule.dump} is not a cron expression */
  @Override
  public Running open(FeatureContext context) throws IOException {
    // dumps compress and hash whole databases: platform threads, so they never pin the virtual
    // threads' carriers that answer PostgreSQL's archive_command (see Retry)
    ExecutorService threads = Executors.newCachedThreadPool(
        Thread.ofPlatform().name("dump-", 0).daemon().factory());
    DumpService service = DumpService.forConfig(context.config(), context.storage(),
        context.pipeline(), threads,
        () -> context.jobs().running(FeatureContext.RunningJobs.BASE_BACKUP));
    DumpMetrics metrics = new DumpMetrics(context.metrics(), context.events(), Clock.systemUTC());
    service.listener(metrics);
    context.jobs().register(FeatureContext.RunningJobs.DUMP,
        () -> service.running().map(DumpStatus::id));
    return new Parts(service, metrics, DumpScheduler.forConfig(context.config().schedule(), service),
        threads);
  }

  private static final class Parts extends ScheduledJob {
    private final DumpService service;
    private final DumpMetrics metrics;
    private final ExecutorService threads;

    Parts(DumpService service, DumpMetrics metrics, Optional<CronScheduler> schedule,
        ExecutorService threads) {
      super(schedule, metrics::schedule);
      this.service = service;
      this.metrics = metrics;
      this.threads = threads;
    }

    @Override
    public void adminRoutes(Router router, Blocking blocking) {
      new DumpRoutes(service, blocking).register(router);
    }

    @Override
    public Map<String, Object> status() {
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("running", service.running().map(Parts::runningDump).orElse(null));
      d.put("last", metrics.lastDump());
      d.put("nextScheduledRun", nextRun().map(Instant::toString).orElse(null));
      Map<String, Object> part = new LinkedHashMap<>();
      part.put("dumps", d);
      return part;
    }

    private static Map<String, Object> runningDump(DumpStatus s) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("id", s.id());
      r.put("label", s.label());
      r.put("state", "running");
      if (s.progress() != null) {
        r.put("object", s.progress().object());
        r.put("dumpedBytes", s.progress().dumpedBytes());
      }
      return r;
    }

    /** Dumps retained; at start also the newest dump's success (an agent restart is no "never"). */
    @Override
    public void readRepository(boolean atStart) throws IOException {
      metrics.readRepository(service.list(), atStart);
    }

    @Override
    protected void stop() {
      threads.shutdown();
    }
  }
}
