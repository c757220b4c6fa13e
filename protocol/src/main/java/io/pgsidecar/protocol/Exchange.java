package io.pgsidecar.protocol;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Map;

/**
 * One request to the agent that waits, within a deadline, for an agent that is not up yet: no
 * socket, nobody listening, or 503 while it starts. The agent and PostgreSQL start side by side
 * in a pod, so the first archive_command or restore_command may well come before the agent.
 */
public final class Exchange {
  public static final Map<String, String> JSON = Map.of("Content-Type", "application/json");
  public static final Map<String, String> NONE = Map.of();

  private static final long FIRST_PAUSE_MILLIS = 50;
  private static final long MAX_PAUSE_MILLIS = 1000;

  private final AgentConnection agent;
  private final long waitMillis;
  private final long startNanos = System.nanoTime();

  public Exchange(AgentConnection agent, long waitMillis) {
    this.agent = agent;
    this.waitMillis = waitMillis;
  }

  public AgentConnection agent() {
    return agent;
  }

  /**
   * Sends the request, retrying while the agent is unavailable until {@code waitMillis} after
   * this exchange was created; then the last response (a 503) is returned or the last
   * {@link AgentConnection.Unavailable} thrown with how long we waited.
   */
  public AgentConnection.Response send(String method, String path, Map<String, String> headers,
      byte[] body) throws IOException {
    long pause = FIRST_PAUSE_MILLIS;
    while (true) {
      AgentConnection.Response r;
      try {
        r = agent.request(method, path, headers, body);
      } catch (AgentConnection.Unavailable e) {
        if (!pause(pause)) {
          throw new AgentConnection.Unavailable(e.getMessage() + " (waited "
              + waitMillis / 1000 + " s; is the pgsidecar agent running? --wait / PGSIDECAR_WAIT"
              + " set how long to wait)", e);
        }
        pause = Math.min(pause * 2, MAX_PAUSE_MILLIS);
        continue;
      }
      if (r.status() != 503 || remainingMillis() <= 0) {
        return r;
      }
      r.close();
      if (!pause(pause)) {
        // Deadline passed while we slept: ask once more and return whatever comes.
        return agent.request(method, path, headers, body);
      }
      pause = Math.min(pause * 2, MAX_PAUSE_MILLIS);
    }
  }

  /** Sleeps up to {@code millis} within the deadline; false when the deadline has passed. */
  public boolean pause(long millis) throws InterruptedIOException {
    long left = remainingMillis();
    if (left <= 0) {
      return false;
    }
    try {
      Thread.sleep(Math.min(millis, left));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for the agent");
    }
    return true;
  }

  private long remainingMillis() {
    return waitMillis - (System.nanoTime() - startNanos) / 1_000_000;
  }
}
