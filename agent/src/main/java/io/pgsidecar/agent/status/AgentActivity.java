package io.pgsidecar.agent.status;

import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.metrics.Result;
import io.pgsidecar.agent.wal.archive.WalEvents;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the agent as a whole remembers for {@code /v1/status} and its metrics: WAL pushes and
 * fetches ({@link WalEvents}: the last archived segment, the {@code .ready} backlog, look-ahead and
 * prefetch hits), the recoverable window, and a bounded list of the last errors every feature
 * reports ({@link FeatureContext.Events}). Calls come from virtual threads and jobs' threads;
 * nothing here blocks.
 */
public final class AgentActivity implements WalEvents, FeatureContext.Events {

  /** How many recent errors /v1/status keeps. */
  static final int MAX_ERRORS = 20;

  /** One entry of the error list; a repeat of the newest entry bumps {@code count}. */
  public record ErrorEntry(Instant at, String operation, String message, int count) {
    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("at", at.toString());
      m.put("operation", operation);
      m.put("message", message);
      m.put("count", count);
      return m;
    }
  }

  private final AgentMetrics metrics;
  private final Clock clock;
  private final Runnable repositoryChanged;
  private final AtomicLong lookaheadHits = new AtomicLong();
  private final AtomicLong prefetchHits = new AtomicLong();
  private final AtomicLong pushesOk = new AtomicLong();
  private final AtomicLong pushesFailed = new AtomicLong();
  private final Deque<ErrorEntry> errors = new ArrayDeque<>();
  private volatile String lastArchived;
  private volatile Instant lastArchivedAt;
  private volatile int readyPending = -1;
  private volatile Instant recoverableFrom;

  /**
   * @param repositoryChanged called after a backup or dump finished, to refresh the gauges read
   *     from the repository (retained counts, recoverable window); must not block
   */
  public AgentActivity(AgentMetrics metrics, Clock clock, Runnable repositoryChanged) {
    this.metrics = metrics;
    this.clock = clock;
    this.repositoryChanged = repositoryChanged;
  }

  // ---- WAL ----------------------------------------------------------------------------------

  @Override
  public void pushed(Outcome outcome, long plainBytes, long storedBytes, Duration took) {
    metrics.walPushed(result(outcome), plainBytes, storedBytes, took);
    (outcome == Outcome.OK ? pushesOk : pushesFailed).incrementAndGet();
  }

  @Override
  public void fetched(Outcome outcome, long plainBytes, long storedBytes, Duration took) {
    metrics.walFetched(result(outcome), plainBytes, storedBytes, took);
  }

  @Override
  public void archived(String segmentName, Instant at) {
    metrics.walArchived(segmentName, at);
    lastArchived = segmentName;
    lastArchivedAt = at;
    Instant from = recoverableFrom;
    if (from != null) {
      metrics.recoverabilityWindow(from, at);
    }
  }

  @Override
  public void readyPending(int segments) {
    readyPending = segments;
    metrics.walReadyPending(segments);
  }

  @Override
  public void lookaheadHit() {
    lookaheadHits.incrementAndGet();
    metrics.lookaheadHit();
  }

  @Override
  public void prefetchHit() {
    prefetchHits.incrementAndGet();
    metrics.prefetchHit();
  }

  @Override
  public void failed(String operation, String message) {
    error(operation, message);
  }

  @Override
  public void refused(String file, String reason) {
    metrics.walRefused();
    error("refusing to archive " + file, reason);
  }

  private static Result result(Outcome o) {
    return switch (o) {
      case OK -> Result.OK;
      case CONFLICT -> Result.CONFLICT;
      case ERROR -> Result.ERROR;
      case NOT_FOUND -> Result.NOT_FOUND;
    };
  }

  // ---- jobs --------------------------------------------------------------------------------

  /** A job finished (its feature's metrics say so): re-read the repository's gauges later. */
  @Override
  public void repositoryChanged() {
    repositoryChanged.run();
  }

  // ---- errors and window --------------------------------------------------------------------

  /** Adds to the bounded error list; the same error again only bumps the newest entry. */
  @Override
  public void error(String operation, String message) {
    Instant now = clock.instant();
    synchronized (errors) {
      ErrorEntry newest = errors.peekFirst();
      if (newest != null && newest.operation().equals(operation) && newest.message().equals(message)) {
        errors.pollFirst();
        errors.addFirst(new ErrorEntry(now, operation, message, newest.count() + 1));
        return;
      }
      errors.addFirst(new ErrorEntry(now, operation, message, 1));
      while (errors.size() > MAX_ERRORS) {
        errors.pollLast();
      }
    }
  }

  /** The recoverable window read from the repository; {@code from} null means none. */
  public void window(Instant from, Instant to) {
    recoverableFrom = from;
    Instant last = lastArchivedAt != null && to != null && lastArchivedAt.isAfter(to) ? lastArchivedAt : to;
    metrics.recoverabilityWindow(from, from == null ? null : last);
  }

  // ---- for /v1/status -----------------------------------------------------------------------

  /** Newest first. */
  public List<ErrorEntry> errors() {
    synchronized (errors) {
      return new ArrayList<>(errors);
    }
  }

  /** The WAL part of the status document. */
  public Map<String, Object> wal() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("lastArchivedSegment", lastArchived);
    m.put("lastArchivedAt", lastArchivedAt == null ? null : lastArchivedAt.toString());
    m.put("readyBacklog", readyPending < 0 ? null : readyPending);
    m.put("pushesOk", pushesOk.get());
    m.put("pushesFailed", pushesFailed.get());
    m.put("lookaheadHits", lookaheadHits.get());
    m.put("prefetchHits", prefetchHits.get());
    return m;
  }

  public Instant recoverableFrom() {
    return recoverableFrom;
  }

  public Instant lastArchivedAt() {
    return lastArchivedAt;
  }
}
