package io.pgsidecar.core.retention;

import java.time.Duration;

/** Durations written the way the configuration reads them: {@code 14d}, {@code 36h}, {@code 90m}. */
public final class Durations {

  private Durations() {}

  public static String format(Duration d) {
    long s = d.getSeconds();
    if (d.getNano() != 0) {
      return d.toMillis() + "ms";
    }
    if (s % 86_400 == 0) {
      return s / 86_400 + "d";
    }
    if (s % 3_600 == 0) {
      return s / 3_600 + "h";
    }
    if (s % 60 == 0) {
      return s / 60 + "m";
    }
    return s + "s";
  }
}
