package io.pgsidecar.agent.schedule;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.pgsidecar.core.job.JobException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Starts runs of one kind of work (base backups, dumps) on a UNIX cron schedule (5 fields, e.g.
 * {@code 0 1 * * *}) evaluated in the configured zone. At start it looks for a run missed while
 * the agent was down (no complete run since the previous scheduled time, or none at all) and
 * starts it once at once: a monthly dump should not wait a month because the pod restarted at
 * the wrong minute. Its one timer thread only starts runs; the work runs on threads of its own,
 * so a long backup never delays the timer. A start refused because a run is under way (a
 * {@link JobException} of kind {@link JobException.Kind#CONFLICT}) is skipped with a warning.
 */
public final class CronScheduler implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(CronScheduler.class.getName());

  /** What the scheduler drives (a seam for tests). */
  public interface Target {
    /** Start time of the newest complete run, empty when there is none. */
    Optional<Instant> lastStart() throws IOException;

    /** Starts a run and returns its id without waiting for it. */
    String start(String label) throws IOException;
  }

  private final String what;
  private final String expression;
  private final ExecutionTime schedule;
  private final ZoneId zone;
  private final Clock clock;
  private final Target target;
  private final ScheduledExecutorService timer;
  private volatile Instant nextRun;
  private ScheduledFuture<?> pending;

  /**
   * @param what the work in log lines, e.g. {@code base backup}
   * @param schedule from {@link #parse}
   */
  public CronScheduler(String what, String expression, ExecutionTime schedule, ZoneId zone,
      Clock clock, Target target) {
    this.what = what;
    this.expression = expression;
    this.schedule = schedule;
    this.zone = zone;
    this.clock = clock;
    this.target = target;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pgsidecar-scheduler-" + what.replace(' ', '-'));
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Parses a 5-field UNIX cron expression.
   *
   * @param key the configuration key, named in the error
   * @param example a valid expression for that key, shown in the error
   * @throws IllegalArgumentException naming the key, the expression and what is wrong
   */
  public static ExecutionTime parse(String key, String example, String expression) {
    try {
      var cron = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX))
          .parse(expression.trim());
      return ExecutionTime.forCron(cron.validate());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + " '" + expression + "' is not a 5-field cron"
          + " expression (minute hour day-of-month month day-of-week, e.g. '" + example + "'): "
          + e.getMessage(), e);
    }
  }

  /** The first scheduled time strictly after {@code after}. */
  public Optional<Instant> nextAfter(Instant after) {
    return schedule.nextExecution(after.atZone(zone)).map(ZonedDateTime::toInstant);
  }

  /** The last scheduled time at or before {@code at}. */
  public Optional<Instant> previousAt(Instant at) {
    return schedule.lastExecution(at.atZone(zone).plusNanos(1)).map(ZonedDateTime::toInstant);
  }

  /** Whether a run was missed: no complete run started since the previous scheduled time. */
  public boolean missedRun(Instant now, Optional<Instant> lastStart) {
    Optional<Instant> previous = previousAt(now);
    return previous.isPresent() && lastStart.map(last -> last.isBefore(previous.get())).orElse(true);
  }

  /** When the next scheduled run starts (for /v1/status and metrics); empty before {@link #start()}. */
  public Optional<Instant> nextRun() {
    return Optional.ofNullable(nextRun);
  }

  public String expression() {
    return expression;
  }

  /** Starts a missed run now (if any) and arms the timer for the next scheduled time. */
  public synchronized void start() {
    Instant now = clock.instant();
    try {
      if (missedRun(now, target.lastStart())) {
        LOG.log(Level.INFO, "{0} schedule ''{1}'': no {0} since the previous scheduled time {2};"
            + " running the missed one now", what, expression, previousAt(now).orElse(null));
        fire("scheduled (missed run)");
      }
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "{0} schedule: cannot check for a missed run: {1}", what, e.getMessage());
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
      LOG.log(Level.WARNING, "{0} schedule ''{1}'' has no next run", what, expression);
      return;
    }
    Instant planned = next.get();
    long delay = Math.max(0, Duration.between(clock.instant(), planned).toMillis());
    LOG.log(Level.INFO, "next scheduled {0} at {1} (schedule ''{2}'', zone {3})", what, planned,
        expression, zone);
    pending = timer.schedule(() -> onTimer(planned), delay, TimeUnit.MILLISECONDS);
  }

  private void onTimer(Instant planned) {
    if (clock.instant().isBefore(planned)) { // the wall clock moved back, or the timer woke early
      arm(planned.minusMillis(1));
      return;
    }
    fire("scheduled");
    arm(planned);
  }

  private void fire(String label) {
    try {
      LOG.log(Level.INFO, "scheduled {0} {1} started", what, target.start(label));
    } catch (IOException | RuntimeException e) {
      if (e instanceof JobException j && j.kind() == JobException.Kind.CONFLICT) {
        LOG.log(Level.WARNING, "scheduled {0} skipped: {1}", what, e.getMessage());
      } else {
        LOG.log(Level.ERROR, "scheduled {0} could not start: {1}", what, e.getMessage());
      }
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
