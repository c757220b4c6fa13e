package io.pgsidecar.e2e;

import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.Waits;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Write load whose outcome can be counted: one thread inserts ids 1, 2, 3, ... into its own
 * table, one autocommitted transaction each (with a 200-byte payload, so WAL moves), and
 * remembers the last id whose commit PostgreSQL acknowledged. After a fault, a restore to the
 * end of the archive must hold exactly ids 1..last: every acknowledged commit, no gap.
 */
final class IdWriter implements AutoCloseable {

  final String table;
  private final PostgresCluster pg;
  private final AtomicLong committed = new AtomicLong();
  private volatile boolean stop;
  private volatile SQLException failure;
  private final Thread thread;

  private IdWriter(PostgresCluster pg, String table) {
    this.pg = pg;
    this.table = table;
    this.thread = Thread.ofPlatform().name("id-writer-" + table).daemon().unstarted(this::run);
  }

  static IdWriter start(PostgresCluster pg, String table) {
    pg.sql("CREATE TABLE " + table + " (id bigint PRIMARY KEY, payload text NOT NULL)");
    IdWriter w = new IdWriter(pg, table);
    w.thread.start();
    return w;
  }

  private void run() {
    try (Connection c = pg.connect();
        PreparedStatement insert = c.prepareStatement("INSERT INTO " + table
            + " VALUES (?, repeat(md5(?::text), 6) || clock_timestamp()::text)")) {
      for (long id = 1; !stop; id++) {
        insert.setLong(1, id);
        insert.setLong(2, id);
        insert.executeUpdate();
        committed.set(id);
      }
    } catch (SQLException e) {
      failure = e; // the server went away (a crash test): what was acknowledged stays counted
    }
  }

  /** The last id whose commit was acknowledged so far. */
  long committed() {
    return committed.get();
  }

  /** Waits until at least {@code n} more rows are committed (the load is really running). */
  void awaitProgress(long n) throws InterruptedException {
    long target = committed.get() + n;
    Waits.until(Duration.ofSeconds(60), Duration.ofMillis(20), () -> {
      if (committed.get() < target && !thread.isAlive()) {
        throw new AssertionError("the writer of " + table + " stopped: " + failure);
      }
      return committed.get() >= target;
    }, () -> "the writer of " + table + " made no progress for 60 s");
  }

  /** Stops the writer and returns the last acknowledged id. */
  long stop() throws InterruptedException {
    stop = true;
    thread.join(60_000);
    return committed.get();
  }

  /** The error that stopped the writer early (the server crashed), or null. */
  SQLException failure() {
    return failure;
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
