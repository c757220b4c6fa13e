package io.pgsidecar.agent.cli.support;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Locale;

/** Wording shared by the commands that talk to the agent (backup, dump). */
public final class CliText {

  private static final ObjectMapper JSON = new ObjectMapper();

  private CliText() {}

  /** {@code 512 B}, {@code 1.5 MiB}: sizes as people read them. */
  public static String size(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /** The agent's refusal as one line: its {@code error} field (or the body) and the status. */
  public static String refusal(AgentClient.Response r) {
    String message;
    try {
      message = JSON.readTree(r.body()).path("error").asText(r.body());
    } catch (IOException e) {
      message = r.body();
    }
    return message + " (HTTP " + r.status() + ")";
  }
}
