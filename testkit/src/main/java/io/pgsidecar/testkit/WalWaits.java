package io.pgsidecar.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The waits on a {@link PostgresCluster}'s WAL: until a file is archived, until recovery has
 * ended. Bounded ({@link Waits}); a timeout says what the server reported last, with its log.
 */
final class WalWaits {
  private final PostgresProcess server;
  private final PostgresSql sql;

  WalWaits(PostgresProcess server, PostgresSql sql) {
    this.server = server;
    this.sql = sql;
  }

  /** See {@link PostgresCluster#awaitArchived}. */
  void awaitArchived(String name, Duration timeout) {
    Path done = server.pgdata().resolve("pg_wal/archive_status/" + name + ".done");
    try {
      Waits.until(timeout, Duration.ofMillis(50), () -> {
        String last = sql.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
        return archivedBy(last, name) || Files.exists(done);
      });
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException(name + " not archived within " + timeout
          + "; pg_stat_archiver: last archived "
          + sql.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") + ", last failed "
          + sql.sql("SELECT coalesce(last_failed_wal, '') FROM pg_stat_archiver")
          + "\n--- server log tail ---\n" + server.logTail(PostgresProcess.LOG_TAIL_LINES), e);
    }
  }

  /**
   * Whether {@code last} (pg_stat_archiver's {@code last_archived_wal}) shows {@code wanted}
   * archived. The archiver takes ready files in name order, history files first, so for
   * segments, {@code .backup} files ({@code <start segment>.<offset>.backup}, after their start
   * segment) and {@code .partial} files, a name at or after {@code wanted} means done: after
   * a base backup the last archived name is usually its {@code .backup} file, whose length
   * differs from a segment's (the old check compared lengths and then waited for ever). Two
   * exceptions: a history file says nothing about segments (it jumps the queue), and
   * {@code <S>.partial} means segment S of that timeline will never be archived whole.
   */
  static boolean archivedBy(String last, String wanted) {
    if (last.isEmpty()) {
      return false;
    }
    if (last.equals(wanted)) {
      return true;
    }
    if (isHistory(wanted)) {
      // Written at promotion, archived before any segment of its timeline: a later timeline's
      // file of any kind comes after it.
      return last.substring(0, 8).compareTo(wanted.substring(0, 8)) >= 0;
    }
    if (isHistory(last)) {
      return false;
    }
    if (last.endsWith(".partial") && wanted.equals(last.substring(0, 24))) {
      return false;
    }
    return wanted.compareTo(last) <= 0;
  }

  private static boolean isHistory(String name) {
    return name.length() == 16 && name.endsWith(".history");
  }

  /** See {@link PostgresCluster#awaitEndOfRecovery}. */
  void awaitEndOfRecovery(Duration timeout) {
    try {
      Waits.until(timeout, Duration.ofMillis(50),
          () -> "f".equals(sql.sql("SELECT pg_is_in_recovery()")));
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException("server on " + server.pgdata() + " still in recovery after "
          + timeout + "\n--- server log tail ---\n" + server.logTail(PostgresProcess.LOG_TAIL_LINES), e);
    }
  }
}
