package io.pgsidecar.agent.backup;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Starts base backups on a UNIX cron schedule (5 fields, e.g. {@code 0 1 * * *}) evaluated in
 * the configured zone. At start it looks for a run missed while the agent was down (no complete
 * backup since the previous scheduled time, or none at all) and runs it once at once. Its one
 * timer thread only starts backups; the backup runs on threads of its own.
 */
public final class BackupScheduler implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(BackupScheduler.class.getName());

  /** What the scheduler needs from the backup service (a seam for tests). */
  public interface Target {
    /** Start time of the newest complete backup, empty when there is none. */
    Optional<Instant> lastBackupStart() throws IOException;

    /** Starts a backup and returns its id without waiting for it. */
    String startBackup(String label) throws IOException;
  }

  private final String expression;
  private final ExecutionTime schedule;
  private final ZoneId zone;
  private final Clock clock;
  private final Target target;
  private final ScheduledExecutorService timer;
  private volatile Instant nextRun;
  private ScheduledFuture<?> pending;

  public BackupScheduler(String cronExpression, ZoneId zone, Clock clock, Target target) {
    this.expression = cronExpression;
    this.schedule = parse(cronExpression);
    this.zone = zone;
    this.clock = clock;
    this.target = target;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pgsidecar-backup-scheduler");
      t.setDaemon(true);
      return t;
    });
  }

  /** The scheduler of {@code schedule.base-backup}, or empty when no schedule is configured. */
  public static Optional<BackupScheduler> forConfig(PgsidecarConfig.Schedule config,
      BackupService service) {
    return config.baseBackup().filter(s -> !s.isBlank()).map(expr -> {
      var scheduler = new BackupScheduler(expr, config.timezone(), Clock.systemUTC(), new Target() {
        @Override
        public Optional<Instant> lastBackupStart() throws IOException {
          return service.list().stream().map(BackupManifest::startTime)
              .max(Comparator.naturalOrder());
        }

        @Override
        public String startBackup(String label) throws IOException {
          return service.start(label).id();
        }
      });
      service.nextScheduledRunFrom(scheduler::nextRun);
      return scheduler;
    });
  }

  /**
   * Parses a 5-field UNIX cron expression.
   *
   * @throws IllegalArgumentException naming the expression and what is wrong
   */
  public static ExecutionTime parse(String expression) {
    try {
      var cron = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX))
          .parse(expression.trim());
      return ExecutionTime.forCron(cron.validate());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("schedule.base-backup '" + expression + "' is not a "
          + "5-field cron expression (minute hour day-of-month month day-of-week, e.g. "
          + "'0 1 * * *'): " + e.getMessage(), e);
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

  /** Whether a run was missed: no complete backup started since the previous scheduled time. */
  boolean missedRun(Instant now, Optional<Instant> lastBackupStart) {
    Optional<Instant> previous = previousAt(now);
    if (previous.isEmpty()) {
      return false;
    }
    return lastBackupStart.map(last -> last.isBefore(previous.get())).orElse(true);
  }

  /** When the next scheduled backup starts (for /v1/status); empty before {@link #start()}. */
  public Optional<Instant> nextRun() {
    return Optional.ofNullable(nextRun);
  }

  public String expression() {
    return expression;
  }

  /** Runs a missed backup now (if any) and arms the timer for the next scheduled time. */
  public synchronized void start() {
    Instant now = clock.instant();
    try {
      if (missedRun(now, target.lastBackupStart())) {
        LOG.log(Level.INFO, "base backup schedule ''{0}'': no backup since the previous scheduled "
            + "time {1}; running the missed backup now", expression, previousAt(now).orElse(null));
        fire("scheduled (missed run)");
      }
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "base backup schedule: cannot check for a missed run: {0}",
          e.getMessage());
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
      LOG.log(Level.WARNING, "base backup schedule ''{0}'' has no next run", expression);
      return;
    }
    long delay = Math.max(0, Duration.between(clock.instant(), next.get()).toMillis());
    LOG.log(Level.INFO, "next scheduled base backup at {0} (schedule ''{1}'', zone {2})",
        next.get(), expression, zone);
    Instant planned = next.get();
    pending = timer.schedule(() -> onTimer(planned), delay, TimeUnit.MILLISECONDS);
  }

  private void onTimer(Instant planned) {
    Instant now = clock.instant();
    if (now.isBefore(planned)) { // the wall clock moved back, or the timer woke early
      arm(planned.minusMillis(1));
      return;
    }
    fire("scheduled");
    arm(planned);
  }

  private void fire(String label) {
    try {
      String id = target.startBackup(label);
      LOG.log(Level.INFO, "scheduled base backup {0} started", id);
    } catch (BackupInProgressException e) {
      LOG.log(Level.WARNING, "scheduled base backup skipped: {0}", e.getMessage());
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.ERROR, "scheduled base backup could not start: {0}", e.getMessage());
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
