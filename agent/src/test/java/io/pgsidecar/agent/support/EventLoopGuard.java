package io.pgsidecar.agent.support;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.VertxOptions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Catches blocking on a Vert.x event loop: Vert.x options with a 300 ms budget (room for class loading on a busy machine) per event-loop
 * task, checked every 20 ms, and a listener on Vert.x's blocked-thread warnings that a test
 * asserts empty at the end.
 */
public final class EventLoopGuard extends Handler {

  private static final Logger CHECKER = Logger.getLogger("io.vertx.core.impl.BlockedThreadChecker");
  private final List<String> warnings = new CopyOnWriteArrayList<>();

  public EventLoopGuard() {
    CHECKER.addHandler(this);
  }

  public static VertxOptions strictOptions() {
    return new VertxOptions()
        .setMaxEventLoopExecuteTime(300).setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS)
        .setBlockedThreadCheckInterval(20).setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS);
  }

  @Override
  public void publish(LogRecord r) {
    if (r.getMessage() != null && r.getMessage().contains("vert.x-eventloop")) {
      warnings.add(r.getMessage());
    }
  }

  /** Fails when an event loop was blocked; detaches the listener. */
  public void assertNoBlocking() {
    CHECKER.removeHandler(this);
    assertEquals(List.of(), warnings, "an event loop was blocked");
  }

  @Override
  public void flush() {}

  @Override
  public void close() {}
}
