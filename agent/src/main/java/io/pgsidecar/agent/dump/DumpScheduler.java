package io.pgsidecar.agent.dump;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Starts dumps on the {@code schedule.dump} cron expression (5 fields, e.g. {@code 0 3 1 * *}),
 * independently of base backups. A run missed while the agent was down (no complete dump since
 * the previous scheduled time) is started once at start-up: a monthly dump should not wait a
 * month because the pod restarted at 03:00. A run that finds another dump running is skipped.
 *
 * <p>Merge note: {@code backup.BackupScheduler} has the same shape; one generic cron scheduler
 * with a name and a target could serve both.
 */
public final class DumpScheduler implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(DumpScheduler.class.getName());

  /** What the scheduler drives (a seam for tests). */
  public interface Target {
    /** Start time of the newest complete dump, empty when there is none. */
    Optional<Instant> lastDumpStart() throws IOException;

    /** Starts a dump of the configured databases and returns its id without waiting. */
    String startDump(String label) throws IOException;
  }

  private final String expression;
  private final ExecutionTime schedule;
  private final ZoneId zone;
  private final Clock clock;
  private final Target target;
  private final ScheduledExecutorService timer;
  private ScheduledFuture<?> pending;
  private volatile Instant nextRun;

  public DumpScheduler(String expression, ZoneId zone, Clock clock, Target target) {
    this.expression = expression;
    this.schedule = parse(expression);
    this.zone = zone;
    this.clock = clock;
    this.target = target;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pgsidecar-dump-scheduler");
      t.setDaemon(true);
      return t;
    });
  }

  /** The scheduler of {@code schedule.dump}, or empty when none is configured. */
  public static Optional<DumpScheduler> forConfig(PgsidecarConfig.Schedule config,
      DumpService service) {
    return config.dump().filter(s -> !s.isBlank()).map(expr ->
        new DumpScheduler(expr, config.timezone(), Clock.systemUTC(), new Target() {
          @Override
          public Optional<Instant> lastDumpStart() throws IOException {
            return service.list().stream()
                .filter(s -> s.state() == DumpStatus.State.COMPLETE)
                .map(s -> s.manifest().start()).max(Instant::compareTo);
          }

          @Override
          public String startDump(String label) throws IOException {
            return service.start(List.of(), label).status().id();
          }
        }));
  }

  /** @throws IllegalArgumentException naming the expression and what is wrong */
  static ExecutionTime parse(String expression) {
    try {
      return ExecutionTime.forCron(new CronParser(
          CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX)).parse(expression.trim()).validate());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("schedule.dump '" + expression + "' is not a 5-field"
          + " cron expression (minute hour day-of-month month day-of-week, e.g. '0 3 1 * *'): "
          + e.getMessage(), e);
    }
  }

  /** The next scheduled dump (for /v1/status); empty before {@link #start()}. */
  public Optional<Instant> nextRun() {
    return Optional.ofNullable(nextRun);
  }

  /** Whether the last scheduled time at or before {@code now} has no complete dump after it. */
  boolean missedRun(Instant now, Optional<Instant> lastDumpStart) {
    Optional<Instant> previous = schedule.lastExecution(now.atZone(zone).plusNanos(1))
        .map(ZonedDateTime::toInstant);
    return previous.isPresent()
        && lastDumpStart.map(last -> last.isBefore(previous.get())).orElse(true);
  }

  Optional<Instant> nextAfter(Instant after) {
    return schedule.nextExecution(after.atZone(zone)).map(ZonedDateTime::toInstant);
  }

  /** Runs a missed dump now (if any) and arms the timer. */
  public synchronized void start() {
    Instant now = clock.instant();
    try {
      if (missedRun(now, target.lastDumpStart())) {
        LOG.log(Level.INFO, "dump schedule ''{0}'': no dump since the previous scheduled time;"
            + " running the missed dump now", expression);
        fire("scheduled (missed run)");
      }
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "dump schedule: cannot check for a missed run: {0}", e.getMessage());
    }
    arm(now);
  }

  private synchronized void arm(Instant after) {
    if (timer.isShutdown()) {
      return;
    }
    Optional<Instant> next = nextAfter(after);
    nextRun = next.orElse(null);
    if (next.isEmpty()) {
      LOG.log(Level.WARNING, "dump schedule ''{0}'' has no next run", expression);
      return;
    }
    Instant planned = next.get();
    long delay = Math.max(0, Duration.between(clock.instant(), planned).toMillis());
    pending = timer.schedule(() -> {
      if (clock.instant().isBefore(planned)) { // woke early or the clock moved back
        arm(planned.minusMillis(1));
        return;
      }
      fire("scheduled");
      arm(planned);
    }, delay, TimeUnit.MILLISECONDS);
  }

  private void fire(String label) {
    try {
      LOG.log(Level.INFO, "scheduled dump {0} started", target.startDump(label));
    } catch (DumpRunningException e) {
      LOG.log(Level.WARNING, "scheduled dump skipped: {0}", e.getMessage());
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.ERROR, "scheduled dump could not start: {0}", e.getMessage());
    }
  }

  @Override
  public synchronized void close() {
    if (pending != null) {
      pending.cancel(false);
    }
    timer.shutdownNow();
    nextRun = null;
  }
}
