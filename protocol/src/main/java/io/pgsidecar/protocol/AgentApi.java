package io.pgsidecar.protocol;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Where the agent listens and the WAL routes' request and answer formats, as the WAL clients
 * (Java and C) and the {@code pgsidecar} CLI use them. The package documentation describes the
 * whole exchange; these are its names.
 */
public final class AgentApi {
  /** Where the agent's hook socket is in a pod: the emptyDir shared by the containers. */
  public static final String DEFAULT_SOCKET = "/pgsidecar/run/agent.sock";

  /** The agent's unix socket, for the WAL client ({@code --socket} wins). */
  public static final String SOCKET_ENV = "PGSIDECAR_SOCKET";
  /** The agent's TCP listener {@code http://127.0.0.1:PORT} instead of the socket ({@code --url} wins). */
  public static final String URL_ENV = "PGSIDECAR_URL";
  /**
   * The bearer token for the TCP listener. The agent reads its token from the file its
   * {@code http.token-file} names; a client is given the same text in this variable.
   */
  public static final String TOKEN_ENV = "PGSIDECAR_TOKEN";
  /** Seconds the WAL client waits for an agent that is not up yet ({@code --wait} wins). */
  public static final String WAIT_ENV = "PGSIDECAR_WAIT";
  /** Default of {@link #WAIT_ENV}. */
  public static final int DEFAULT_WAIT_SECONDS = 30;

  /** {@code POST}, body {@link #pushBody}: 200 once the segment is durable, anything else is a failure. */
  public static final String WAL_PUSH = "/v1/wal/push";
  /** {@code GET WAL_FETCH + name [+ ?cluster=NAME]}: see {@link #fetchTarget}. */
  public static final String WAL_FETCH = "/v1/wal/";

  /** On a fetch's 404: the name of the file the archive does not have ("not in the archive"). */
  public static final String MISSING = "X-Pgsidecar-Missing";
  /** On a fetch's 200: the SHA-256 (hex) recorded when the file was archived. */
  public static final String SHA256 = "X-Pgsidecar-Sha256";
  /** On a hand-off: the plain size of the spooled file. */
  public static final String SIZE = "X-Pgsidecar-Size";
  /**
   * {@code sha256} on a fetch's 200: the agent checked the SHA-256 while streaming and resets the
   * connection before the last chunk on a mismatch, so a complete body is a verified one.
   */
  public static final String VERIFIED = "X-Pgsidecar-Verified";
  /**
   * Request {@code link}: the client can hard-link a spooled file; the answer is then 200 with no
   * body and this header naming the spool file (verified and fsynced).
   */
  public static final String HANDOFF = "X-Pgsidecar-Handoff";

  private AgentApi() {}

  /** The JSON body of a push: {@code {"path":"pg_wal/NAME","cluster":null}}. */
  public static String pushBody(String path, String cluster) {
    return "{\"path\":" + Json.quote(path) + ",\"cluster\":"
        + (cluster == null ? "null" : Json.quote(cluster)) + "}";
  }

  /** The request target of a fetch: {@code /v1/wal/NAME}, {@code ?cluster=} URL-encoded. */
  public static String fetchTarget(String name, String cluster) {
    return WAL_FETCH + name
        + (cluster == null ? "" : "?cluster=" + URLEncoder.encode(cluster, StandardCharsets.UTF_8));
  }
}
