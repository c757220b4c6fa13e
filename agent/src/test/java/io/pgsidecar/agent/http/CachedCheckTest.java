package io.pgsidecar.agent.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CachedCheckTest {

  /** A clock the test moves by hand. */
  static final class ManualClock extends Clock {
    Instant now = Instant.parse("2026-11-22T03:00:00Z");

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @Test
  void oneCallPerIntervalWhateverTheNumberOfProbes() {
    AtomicInteger calls = new AtomicInteger();
    ManualClock clock = new ManualClock();
    CachedCheck check = new CachedCheck(() -> {
      calls.incrementAndGet();
      return Optional.empty();
    }, Duration.ofSeconds(5), clock);
    for (int i = 0; i < 10; i++) {
      assertEquals(Optional.empty(), check.problem());
    }
    assertEquals(1, calls.get());
    clock.now = clock.now.plusSeconds(5);
    check.problem();
    assertEquals(2, calls.get());
  }

  @Test
  void aFailureIsCachedWithItsMessageAndClearsOnceStorageAnswersAgain() {
    ManualClock clock = new ManualClock();
    AtomicInteger calls = new AtomicInteger();
    boolean[] down = {true};
    CachedCheck check = new CachedCheck(() -> {
      calls.incrementAndGet();
      if (down[0]) {
        throw new java.io.IOException("container pg-archive does not exist");
      }
      return Optional.empty();
    }, Duration.ofSeconds(5), clock);
    assertEquals(Optional.of("container pg-archive does not exist"), check.problem());
    down[0] = false;
    assertEquals(Optional.of("container pg-archive does not exist"), check.problem());
    assertEquals(1, calls.get());
    clock.now = clock.now.plusSeconds(6);
    assertEquals(Optional.empty(), check.problem());
  }
}
