package io.pgsidecar.agent.backup;

/** Told when a base backup starts and ends (metrics, logs); called on the backup's own thread. */
public interface BackupListener {

  default void started(RunningBackup backup) {}

  /** Success or failure; {@link BackupResult#success()} tells which. */
  default void finished(BackupResult result) {}
}
