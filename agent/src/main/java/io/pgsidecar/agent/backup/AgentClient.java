package io.pgsidecar.agent.backup;

import java.io.IOException;

/**
 * The CLI's view of the running agent: one HTTP request, one answer. Production uses the agent's
 * unix socket (io.pgsidecar.walarchiver.AgentConnection); tests may use TCP.
 */
@FunctionalInterface
public interface AgentClient {

  /** A status code and a JSON body. */
  record Response(int status, String body) {}

  /**
   * @param method {@code GET}, {@code POST}, {@code DELETE}
   * @param path with query, e.g. {@code /v1/backups?wait=true}
   * @param jsonBody request body, or null for none
   * @throws IOException when the agent cannot be reached (message says which socket)
   */
  Response send(String method, String path, String jsonBody) throws IOException;
}
