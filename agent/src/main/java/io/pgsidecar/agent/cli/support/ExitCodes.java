package io.pgsidecar.agent.cli.support;

import io.pgsidecar.core.config.ConfigException;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.storage.StorageException;

/**
 * The exit codes of every {@code pgsidecar} command, in one place (the README's table):
 *
 * <table>
 *   <caption>Exit codes</caption>
 *   <tr><th>code</th><th>meaning</th><th>from</th></tr>
 *   <tr><td>0</td><td>done</td><td></td></tr>
 *   <tr><td>1</td><td>the job failed</td><td>{@link JobException.Kind#FAILED}, an agent's 500, any other error</td></tr>
 *   <tr><td>2</td><td>usage or configuration error</td><td>{@link JobException.Kind#INVALID_INPUT}, a bad option, {@link ConfigException}, an agent's 400</td></tr>
 *   <tr><td>3</td><td>unavailable: the agent cannot be reached, or storage cannot; try again later</td><td>{@link JobException.Kind#STORAGE_UNAVAILABLE}, {@link StorageException}, an agent's 503</td></tr>
 *   <tr><td>4</td><td>not found</td><td>{@link JobException.Kind#NOT_FOUND}, an agent's 404</td></tr>
 *   <tr><td>5</td><td>verification failed: stored data is wrong</td><td>{@link JobException.Kind#VERIFICATION_FAILED}, an agent's 422</td></tr>
 *   <tr><td>6</td><td>conflict: another job runs, or the object exists</td><td>{@link JobException.Kind#CONFLICT}, an agent's 409</td></tr>
 *   <tr><td>7</td><td>refused by policy</td><td>{@link JobException.Kind#REFUSED}; over HTTP a refusal is a 409 (see the agent's {@code Problems}) and exits 6</td></tr>
 * </table>
 * Codes 0 to 3 keep what {@code pgsidecar backup} and {@code dump} documented before (3 was "the
 * agent cannot be reached"; it now also covers storage that cannot be reached).
 */
public final class ExitCodes {

  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;
  public static final int UNAVAILABLE = 3;
  public static final int NOT_FOUND = 4;
  public static final int VERIFICATION_FAILED = 5;
  public static final int CONFLICT = 6;
  public static final int REFUSED = 7;

  private ExitCodes() {}

  /** The code of a job's failure. */
  public static int of(JobException.Kind kind) {
    return switch (kind) {
      case FAILED -> FAILED;
      case INVALID_INPUT -> USAGE;
      case STORAGE_UNAVAILABLE -> UNAVAILABLE;
      case NOT_FOUND -> NOT_FOUND;
      case VERIFICATION_FAILED -> VERIFICATION_FAILED;
      case CONFLICT -> CONFLICT;
      case REFUSED -> REFUSED;
    };
  }

  /** The code of any failure of a command run in this process. */
  public static int of(Throwable t) {
    if (t instanceof JobException j) {
      return of(j.kind());
    }
    if (t instanceof ConfigException) {
      return USAGE;
    }
    return t instanceof StorageException ? UNAVAILABLE : FAILED;
  }

  /** The code of the agent's answer with HTTP {@code status} (the inverse of its one mapping). */
  public static int ofStatus(int status) {
    return switch (status) {
      case 200, 201, 202, 204 -> OK;
      case 400 -> USAGE;
      case 403 -> REFUSED;
      case 404 -> NOT_FOUND;
      case 409 -> CONFLICT;
      case 422 -> VERIFICATION_FAILED;
      case 503 -> UNAVAILABLE;
      default -> FAILED;
    };
  }
}
