package io.pgsidecar.agent.support;

import io.pgsidecar.agent.wal.archive.WalEvents;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** Keeps every WAL event as a short line, for tests to assert what metrics would see. */
public final class RecordingEvents implements WalEvents {

  public final List<String> pushes = new CopyOnWriteArrayList<>();
  public final List<String> fetches = new CopyOnWriteArrayList<>();
  public final List<String> archived = new CopyOnWriteArrayList<>();
  public final AtomicInteger lookaheadHits = new AtomicInteger();
  public final AtomicInteger prefetchHits = new AtomicInteger();
  public final List<String> refused = new CopyOnWriteArrayList<>();

  @Override
  public void refused(String file, String reason) {
    refused.add(file);
  }

  @Override
  public void pushed(Outcome outcome, long plainBytes, long storedBytes, Duration took) {
    pushes.add(outcome + " " + plainBytes);
  }

  @Override
  public void fetched(Outcome outcome, long plainBytes, long storedBytes, Duration took) {
    fetches.add(outcome + " " + plainBytes);
  }

  @Override
  public void archived(String segmentName, Instant at) {
    archived.add(segmentName);
  }

  @Override
  public void lookaheadHit() {
    lookaheadHits.incrementAndGet();
  }

  @Override
  public void prefetchHit() {
    prefetchHits.incrementAndGet();
  }
}
