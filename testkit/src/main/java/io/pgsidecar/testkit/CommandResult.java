package io.pgsidecar.testkit;

import java.util.List;

/**
 * What a command run by a fixture produced: its exit code and its merged stdout/stderr. Tests
 * assert on both, so neither is hidden behind an exception.
 */
public record CommandResult(List<String> command, int exitCode, String output) {

  /** True when the command exited with 0. */
  public boolean ok() {
    return exitCode == 0;
  }

  /** This result when the command succeeded; otherwise an exception carrying its output. */
  public CommandResult orThrow() {
    if (exitCode != 0) {
      throw new IllegalStateException(
          "command failed with exit code " + exitCode + ": " + String.join(" ", command)
              + "\n" + output);
    }
    return this;
  }
}
