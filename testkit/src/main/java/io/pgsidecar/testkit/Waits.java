package io.pgsidecar.testkit;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.awaitility.core.ConditionTimeoutException;

/**
 * How fixtures and tests wait for something: a condition polled at an interval until a bound
 * (Awaitility), not a {@code Thread.sleep} loop. The condition runs on the caller's thread,
 * first at once; an exception it throws ends the wait with that exception. On timeout Awaitility
 * throws {@link org.awaitility.core.ConditionTimeoutException}: a fixture catches it to say what
 * it waited for and add what it knows (a server's log tail).
 */
public final class Waits {
  private Waits() {}

  /** Waits until {@code condition} holds, polling every {@code every}, at most {@code atMost}. */
  public static void until(Duration atMost, Duration every, Callable<Boolean> condition) {
    poll(atMost, every).until(condition);
  }

  /**
   * The same, but gives up at once with {@link org.awaitility.core.TerminalFailureException}
   * naming {@code reason} when {@code hopeless} holds (a process that died will not answer).
   */
  public static void until(Duration atMost, Duration every, Callable<Boolean> condition,
      String reason, Callable<Boolean> hopeless) {
    poll(atMost, every).failFast(reason, hopeless).until(condition);
  }

  /**
   * The same, for tests: a timeout fails with an {@link AssertionError} whose message is
   * {@code onTimeout}'s, made then (what was awaited, and what is known now: a log tail).
   */
  public static void until(Duration atMost, Duration every, Callable<Boolean> condition,
      Supplier<String> onTimeout) {
    try {
      until(atMost, every, condition);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(onTimeout.get(), e);
    }
  }

  /**
   * Waits until {@code condition} holds or {@code atMost} has passed, and says which: for a test
   * that asserts on what it then finds (a log) with a message better than "timed out".
   */
  public static boolean holdsWithin(Duration atMost, Duration every, Callable<Boolean> condition) {
    try {
      until(atMost, every, condition);
      return true;
    } catch (ConditionTimeoutException e) {
      return false;
    }
  }

  private static ConditionFactory poll(Duration atMost, Duration every) {
    return Awaitility.await().atMost(atMost).pollDelay(Duration.ZERO).pollInterval(every)
        .pollInSameThread();
  }
}
