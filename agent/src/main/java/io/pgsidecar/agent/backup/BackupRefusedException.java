package io.pgsidecar.agent.backup;

/**
 * A request that would lose restore points or cannot be done safely (deleting the only complete
 * backup, a cluster with extra tablespaces); the message says what to do instead. HTTP 409.
 */
public final class BackupRefusedException extends RuntimeException {
  public BackupRefusedException(String message) {
    super(message);
  }
}
