package io.pgsidecar.agent.feature;

import io.pgsidecar.agent.schedule.CronScheduler;
import java.time.Instant;
import java.util.Optional;

/**
 * The running part of a feature whose job may also run on a cron schedule (base backups, dumps):
 * the schedule starts with the agent (a run missed while it was down starts now), its gauge is
 * set on every housekeeping tick, and it stops before the feature's own work does.
 */
public abstract class ScheduledJob implements Feature.Running {

  /** Where the schedule's gauge goes: whether one is set, and when it runs next (or null). */
  @FunctionalInterface
  public interface Gauge {
    void set(boolean enabled, Instant nextRun);
  }

  private final Optional<CronScheduler> schedule;
  private final Gauge gauge;

  protected ScheduledJob(Optional<CronScheduler> schedule, Gauge gauge) {
    this.schedule = schedule;
    this.gauge = gauge;
  }

  /** When the schedule runs the job next; empty without a schedule. */
  protected Optional<Instant> nextRun() {
    return schedule.flatMap(CronScheduler::nextRun);
  }

  @Override
  public final void start() {
    schedule.ifPresent(CronScheduler::start);
  }

  @Override
  public final void housekeeping() {
    gauge.set(schedule.isPresent(), nextRun().orElse(null));
  }

  @Override
  public final void close() {
    schedule.ifPresent(CronScheduler::close);
    stop();
  }

  /** Stops the job's own work (cancels a running backup...), after the schedule has stopped. */
  protected abstract void stop();
}
