package io.pgsidecar.testkit;

import java.time.Duration;
import java.util.concurrent.Callable;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;

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

  private static ConditionFactory poll(Duration atMost, Duration every) {
    return Awaitility.await().atMost(atMost).pollDelay(Duration.ZERO).pollInterval(every)
        .pollInSameThread();
  }
}
