package io.pgsidecar.agent.backup;

/** No base backup (complete or not) has this id in the repository: HTTP 404. */
public final class BackupNotFoundException extends RuntimeException {
  public BackupNotFoundException(String message) {
    super(message);
  }
}
