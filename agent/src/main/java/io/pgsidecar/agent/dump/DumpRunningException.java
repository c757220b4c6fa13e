package io.pgsidecar.agent.dump;

/** A dump was asked for while another one (or a base backup, when overlap is off) is running. */
public final class DumpRunningException extends RuntimeException
    implements io.pgsidecar.agent.schedule.CronScheduler.Busy {
  private final String runningId;

  DumpRunningException(String message, String runningId) {
    super(message);
    this.runningId = runningId;
  }

  /** Id of the run in the way. */
  public String runningId() {
    return runningId;
  }
}
