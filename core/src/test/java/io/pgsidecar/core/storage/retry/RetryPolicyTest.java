package io.pgsidecar.core.storage.retry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.retry.RetryPolicy.Operation;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

  final List<String> giveUps = new CopyOnWriteArrayList<>();

  RetryPolicy policy(Duration deadline, Duration first, Duration max, int retries) {
    return new RetryPolicy(RetryPolicy.Settings.DEFAULTS.withMaxRetries(retries)
        .with(deadline, first, max), (op, what, attempts, elapsed, last) ->
        giveUps.add(op.label() + " " + what + " after " + attempts + ": " + last.getMessage()));
  }

  @Test
  void transientFailureIsRetriedUntilItSucceedsWithoutAGiveUp() throws IOException {
    AtomicInteger calls = new AtomicInteger();
    String r = policy(Duration.ofSeconds(5), Duration.ofMillis(1), Duration.ofMillis(2), 5)
        .call(Operation.READ, "stat of x", () -> {
          if (calls.incrementAndGet() < 3) {
            throw new IOException("connection reset");
          }
          return "ok";
        }, e -> true);
    assertEquals("ok", r);
    assertEquals(3, calls.get());
    assertEquals(List.of(), giveUps);
  }

  @Test
  void deadStorageGivesUpWithinTheDeadlineOnceCountedWithTheLastError() {
    AtomicInteger calls = new AtomicInteger();
    long t0 = System.nanoTime();
    var e = assertThrows(IOException.class,
        () -> policy(Duration.ofMillis(600), Duration.ofMillis(50), Duration.ofMillis(100), 100)
            .call(Operation.COMMIT, "commit of wal/x.zst", () -> {
              throw new IOException("refused " + calls.incrementAndGet());
            }, x -> true));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < 700, "gave up after " + ms + " ms, deadline 600 ms");
    assertTrue(calls.get() >= 4, "only " + calls.get() + " attempts in 600 ms");
    assertEquals("refused " + calls.get(), e.getMessage());
    assertEquals(List.of("commit commit of wal/x.zst after " + calls.get() + ": refused "
        + calls.get()), giveUps);
  }

  @Test
  void retriesStopAtStorageRetriesBeforeTheDeadline() {
    AtomicInteger calls = new AtomicInteger();
    assertThrows(IOException.class,
        () -> policy(Duration.ofSeconds(30), Duration.ofMillis(1), Duration.ofMillis(1), 2)
            .call(Operation.LIST, "list of wal/", () -> {
              calls.incrementAndGet();
              throw new IOException("503");
            }, x -> true));
    assertEquals(3, calls.get(), "one try and two retries");
    assertEquals(1, giveUps.size());
  }

  @Test
  void verdictOfTheServiceIsNotRetried() {
    var conflict = new ObjectExistsException("k");
    AtomicInteger calls = new AtomicInteger();
    var e = assertThrows(ObjectExistsException.class,
        () -> policy(Duration.ofSeconds(5), Duration.ofMillis(1), Duration.ofMillis(1), 5)
            .call(Operation.COMMIT, "commit of k", () -> {
              calls.incrementAndGet();
              throw conflict;
            }, x -> !(x instanceof ObjectExistsException)));
    assertSame(conflict, e);
    assertEquals(1, calls.get());
    assertEquals(List.of(), giveUps, "a verdict is not a give-up");
  }

  @Test
  void backoffIsJitteredBetweenHalfAndAllOfTheStep() {
    var seen = new java.util.HashSet<Long>();
    for (int i = 0; i < 200; i++) {
      long ms = RetryPolicy.jitter(Duration.ofMillis(1000));
      assertTrue(ms >= 500 && ms <= 1000, ms + " ms");
      seen.add(ms);
    }
    assertTrue(seen.size() > 50, "not jittered: " + seen.size() + " distinct pauses");
  }
}
