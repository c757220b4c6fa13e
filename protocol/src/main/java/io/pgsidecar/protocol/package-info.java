/**
 * How the WAL client and the {@code pgsidecar} CLI talk to the agent: the one description of
 * the protocol, which the Java client ({@code wal-archiver}), the static C client
 * ({@code wal-client/src/pgsidecar-wal.c}) and the agent's routes follow. JDK only: this is
 * loaded by every archive_command and restore_command.
 *
 * <h2>Where the agent is</h2>
 * A unix socket, {@link io.pgsidecar.protocol.AgentApi#DEFAULT_SOCKET} in a pod (an emptyDir
 * shared by the containers), or else {@code --socket} / {@code PGSIDECAR_SOCKET}. Instead, the
 * agent's TCP listener on 127.0.0.1: {@code --url http://127.0.0.1:PORT} /
 * {@code PGSIDECAR_URL}, with the bearer token in {@code PGSIDECAR_TOKEN} (the agent reads the
 * same token from the file its {@code http.token-file} names; a missing or wrong token is a 401).
 * A flag wins over the environment; a {@code --socket} flag wins over a URL from the environment
 * ({@link io.pgsidecar.protocol.AgentConnection#resolve}).
 *
 * <h2>Requests and answers</h2>
 * HTTP/1.1, one request per connection ({@code Connection: close}); bodies framed by
 * {@code Content-Length} or chunked, and a body that ends early is an error, never a short file.
 * <ul>
 *   <li>Push: {@code POST /v1/wal/push} with {@code Content-Type: application/json} and
 *       {@code {"path":"pg_wal/<name>","cluster":null}} (the path as {@code %p} gives it,
 *       relative to PGDATA; the agent reads the file itself). 200 only once the segment is
 *       durable; anything else leaves it {@code .ready}.
 *   <li>Fetch: {@code GET /v1/wal/<name>} (optionally {@code ?cluster=<name>}, URL-encoded). 200
 *       with the plain file, {@code Content-Length}, {@code X-Pgsidecar-Sha256} and, when the agent
 *       checked it while streaming, {@code X-Pgsidecar-Verified: sha256}. 404 with
 *       {@code X-Pgsidecar-Missing: <name>} means "not in the archive"; a 404 without it (a wrong
 *       route or port) does not. With the request header {@code X-Pgsidecar-Handoff: link} and
 *       the file in the prefetch spool: 200, no body, {@code X-Pgsidecar-Handoff: <spool path>}
 *       to hard-link, plus {@code X-Pgsidecar-Sha256} and {@code X-Pgsidecar-Size}.
 *   <li>Errors: a JSON object whose {@code "error"} string says what failed
 *       ({@link io.pgsidecar.protocol.Json#errorMessage}). 503 while the agent starts or stops:
 *       the client waits ({@code --wait} / {@code PGSIDECAR_WAIT}, default 30 s) as for a missing
 *       socket ({@link io.pgsidecar.protocol.Exchange}).
 * </ul>
 * The names are constants of {@link io.pgsidecar.protocol.AgentApi}; WAL names are checked by
 * {@link io.pgsidecar.protocol.WalName} before the agent is asked.
 *
 * <h2>Exit codes</h2>
 * {@link io.pgsidecar.protocol.WalExitCodes}: 0 done; 1 a push that failed (retried) or a fetch
 * of a file not in the archive (and nothing else); 255 every other fetch failure (above 125:
 * PostgreSQL stops recovery instead of ending it early).
 */
package io.pgsidecar.protocol;
