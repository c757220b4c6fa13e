package io.pgsidecar.agent.wal.archive;

import java.time.Duration;
import java.time.Instant;

/**
 * What the WAL push and fetch paths report for metrics, one call per event; the agent's metrics
 * (AgentMetrics) implement it. Calls come from virtual threads and must not block.
 */
public interface WalEvents {

  /** How a request ended. */
  enum Outcome { OK, CONFLICT, ERROR, NOT_FOUND }

  /** Reports nothing (tests, or metrics disabled). */
  WalEvents NONE = new WalEvents() {};

  /** A push was answered; {@code storedBytes} is 0 when unknown. */
  default void pushed(Outcome outcome, long plainBytes, long storedBytes, Duration took) {}

  /** A fetch was answered; {@code storedBytes} is 0 when served from the spool. */
  default void fetched(Outcome outcome, long plainBytes, long storedBytes, Duration took) {}

  /** PostgreSQL was told that segment {@code name} is archived. */
  default void archived(String segmentName, Instant at) {}

  /** archive_status holds {@code segments} {@code .ready} files (seen by a look-ahead scan). */
  default void readyPending(int segments) {}

  /** A push was answered from the look-ahead's work. */
  default void lookaheadHit() {}

  /** A fetch was served from the prefetch spool. */
  default void prefetchHit() {}

  /**
   * A push or fetch failed (not a plain "not in the archive"): {@code operation} names what and
   * on which file, {@code message} why. Feeds the bounded list of last errors in /v1/status.
   */
  default void failed(String operation, String message) {}

  /**
   * The agent refused to read {@code file} for archiving: not a name PostgreSQL produces, not
   * marked ready, or not a regular file directly in pg_wal (a link, a directory, a FIFO).
   * {@code reason} is the whole message. Counted and listed in /v1/status like a failure.
   */
  default void refused(String file, String reason) {}
}
