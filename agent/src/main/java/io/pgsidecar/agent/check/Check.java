package io.pgsidecar.agent.check;

import io.pgsidecar.core.job.JobException.Kind;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One line of {@code pgsidecar check}'s report.
 *
 * @param name the check ({@code storage}, {@code archive-command})
 * @param message what was found; for a failure also what to do
 * @param kind for a failure, its cause (the CLI's exit code); empty otherwise
 */
public record Check(String name, Result result, String message, Optional<Kind> kind) {
  static Check ok(String name, String message) {
    return new Check(name, Result.OK, message, Optional.empty());
  }

  static Check fail(String name, Kind kind, String message) {
    return new Check(name, Result.FAIL, message, Optional.of(kind));
  }

  static Check skip(String name, String message) {
    return new Check(name, Result.SKIP, message, Optional.empty());
  }

  /** What one check found. */
  public enum Result { OK, FAIL, SKIP }

  /** The first failure's cause, or empty when every check passed or was skipped. */
  public static Optional<Kind> firstFailure(List<Check> checks) {
    return checks.stream().filter(c -> c.result() == Result.FAIL).findFirst()
        .flatMap(Check::kind);
  }

  static String seconds(Duration d) {
    return String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }

  /** A message on one line: a report line per check. */
  public static String oneLine(String s) {
    if (s == null) {
      return "(no message)";
    }
    return String.join("; ", s.strip().lines().map(String::strip).filter(l -> !l.isEmpty())
        .toList());
  }
}
