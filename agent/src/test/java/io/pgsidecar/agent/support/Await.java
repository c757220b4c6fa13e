package io.pgsidecar.agent.support;

import io.pgsidecar.testkit.Waits;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Waits of the agent's tests, on the testkit's {@link Waits} (Awaitility behind it): bounded,
 * polling a condition, never a bare sleep.
 */
public final class Await {

  private Await() {}

  /**
   * Waits until {@code condition} holds, at most {@code atMost}; returns either way, so that the
   * assertion after it says what was expected when it never held.
   */
  public static void quietly(Duration atMost, Callable<Boolean> condition) {
    try {
      Waits.until(atMost, Duration.ofMillis(20), condition);
    } catch (ConditionTimeoutException e) {
      // the caller's assertion reports it
    }
  }

  /** Waits until {@code condition} holds; fails naming {@code what} after {@code atMost}. */
  public static void until(String what, Duration atMost, Callable<Boolean> condition) {
    try {
      Waits.until(atMost, Duration.ofMillis(100), condition);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("not within " + atMost.toSeconds() + " s: " + what, e);
    }
  }
}
