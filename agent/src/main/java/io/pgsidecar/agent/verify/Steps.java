package io.pgsidecar.agent.verify;

import java.util.LinkedHashMap;
import java.util.Map;

/** Times the steps of one verification, in the order they ran. */
final class Steps {

  @FunctionalInterface
  interface Step<T> {
    T run() throws Exception;
  }

  private final Map<String, Long> millis = new LinkedHashMap<>();
  private final long started = System.nanoTime();

  <T> T time(String name, Step<T> step) throws Exception {
    long t0 = System.nanoTime();
    try {
      return step.run();
    } finally {
      millis.put(name, (System.nanoTime() - t0) / 1_000_000);
    }
  }

  Map<String, Long> millis() {
    return new LinkedHashMap<>(millis);
  }

  long totalMillis() {
    return (System.nanoTime() - started) / 1_000_000;
  }
}
