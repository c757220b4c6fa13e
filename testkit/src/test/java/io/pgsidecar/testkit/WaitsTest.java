package io.pgsidecar.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WaitsTest {
  private static final Duration EVERY = Duration.ofMillis(5);

  @Test
  void aTimeoutFailsWithTheMessageMadeAtThatMoment() {
    AtomicInteger polls = new AtomicInteger();
    AssertionError e = assertThrows(AssertionError.class, () -> Waits.until(Duration.ofMillis(200),
        EVERY, () -> polls.incrementAndGet() < 0, () -> "never true after " + (polls.get() > 1)));
    assertEquals("never true after true", e.getMessage());
  }

  @Test
  void holdsWithinSaysWhetherTheConditionHeld() {
    AtomicInteger polls = new AtomicInteger();
    assertTrue(Waits.holdsWithin(Duration.ofSeconds(30), EVERY, () -> polls.incrementAndGet() >= 3));
    assertEquals(3, polls.get());
    assertFalse(Waits.holdsWithin(Duration.ofMillis(100), EVERY, () -> false));
  }

  @Test
  void anErrorThrownByTheConditionEndsTheWaitAsItIs() {
    AssertionError dead = new AssertionError("the process died");
    AssertionError e = assertThrows(AssertionError.class, () -> Waits.until(Duration.ofSeconds(30),
        EVERY, () -> {
          throw dead;
        }, () -> "timed out"));
    assertSame(dead, e);
  }
}
