package io.pgsidecar.agent.backup;

/** A base backup was asked for (or a delete of the running one) while one runs: HTTP 409. */
public final class BackupInProgressException extends RuntimeException
    implements io.pgsidecar.agent.schedule.CronScheduler.Busy {
  private final String runningId;

  public BackupInProgressException(String runningId, String message) {
    super(message);
    this.runningId = runningId;
  }

  /** Id of the base backup that is running. */
  public String runningId() {
    return runningId;
  }
}
