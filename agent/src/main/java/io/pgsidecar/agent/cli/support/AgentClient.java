package io.pgsidecar.agent.cli.support;

import io.pgsidecar.walarchiver.AgentConnection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The CLI's view of the running agent: one HTTP request, one answer. Production goes through
 * wal-archiver's {@link AgentConnection} (the one HTTP-over-unix-socket client of the project)
 * to the socket the configuration names; tests may answer with anything else.
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

  /**
   * The agent of the command line: {@code PGSIDECAR_URL} with {@code PGSIDECAR_TOKEN} when set
   * (the TCP listener), else the configuration's admin socket ({@code http.admin-socket}).
   * Never the hook socket: it refuses everything but WAL push and fetch.
   */
  static AgentClient forCommand(picocli.CommandLine.Model.CommandSpec spec) {
    CommandContext main = CommandContext.of(spec);
    String url = main.env().get("PGSIDECAR_URL");
    if (url != null && !url.isEmpty()) {
      return over(AgentConnection.tcp(url, main.env().get("PGSIDECAR_TOKEN")));
    }
    return over(AgentConnection.unixSocket(main.config().adminSocket()));
  }

  /** Requests through wal-archiver's JDK-only HTTP client (unix socket, or TCP with a token). */
  static AgentClient over(AgentConnection connection) {
    return (method, path, jsonBody) -> {
      Map<String, String> headers = jsonBody == null ? Map.of()
          : Map.of("Content-Type", "application/json");
      try (AgentConnection.Response r = connection.request(method, path, headers,
          jsonBody == null ? null : jsonBody.getBytes(StandardCharsets.UTF_8))) {
        return new Response(r.status(), new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
      }
    };
  }
}
