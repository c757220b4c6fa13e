package io.pgsidecar.protocol;

import java.util.Map;

/**
 * The exit codes of the WAL client (archive_command and restore_command), chosen for how
 * PostgreSQL reads them. The Java client ({@code wal-archiver}), the static C client
 * ({@code wal-client/}) and the launcher {@code bin/wal-archiver} all exit with these:
 * <ul>
 *   <li>{@link #OK} 0: push archived durably; fetch wrote the whole, verified file to {@code %p}.
 *   <li>{@link #PUSH_FAILED} 1: a push that did not archive, for any reason (bad arguments
 *       included). PostgreSQL keeps the segment {@code .ready}, retries it and counts the failure
 *       in {@code pg_stat_archiver}. Never above 125 for a push: PostgreSQL's archiver exits FATAL
 *       on such a code without counting a failure, which would silence the archiving alert.
 *   <li>{@link #NOT_IN_ARCHIVE} 1: a fetch the agent answered with "not in the archive" (a 404
 *       whose {@link AgentApi#MISSING} header names the file), and nothing else. PostgreSQL takes
 *       it as the end of the WAL it can replay.
 *   <li>{@link #STOP_RECOVERY} 255: every other failure of a fetch (agent down after the wait,
 *       storage failing, bad arguments, a bad name, an unexpected answer) and of an unknown
 *       command. Above 125 makes PostgreSQL stop recovery instead of promoting on a partial
 *       history.
 * </ul>
 */
public final class WalExitCodes {
  public static final int OK = 0;
  /** A push that did not archive: PostgreSQL retries it. */
  public static final int PUSH_FAILED = 1;
  /** A fetch of a file the archive does not have (the agent said so), and only that. */
  public static final int NOT_IN_ARCHIVE = 1;
  /** A fetch that could not tell, or any other command's failure: PostgreSQL stops recovery. */
  public static final int STOP_RECOVERY = 255;
  /**
   * Set by {@code bin/wal-archiver}: the exit code (2..125) for "not in the archive" instead of 1,
   * so that the launcher can tell it from a JVM that failed to start (which exits 1, too) and map
   * everything else to {@link #STOP_RECOVERY}.
   */
  public static final String NOT_IN_ARCHIVE_ENV = "PGSIDECAR_WAL_ARCHIVER_NOT_FOUND_EXIT";

  private WalExitCodes() {}

  /** The code for "not in the archive": {@link #NOT_IN_ARCHIVE_ENV} when it is 1..125, else 1. */
  public static int notInArchive(Map<String, String> env) {
    String v = env.get(NOT_IN_ARCHIVE_ENV);
    if (v != null && v.matches("[1-9][0-9]{0,2}") && Integer.parseInt(v) <= 125) {
      return Integer.parseInt(v);
    }
    return NOT_IN_ARCHIVE;
  }
}
