package io.pgsidecar.agent.http;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A failure that maps to one HTTP status and a JSON body {@code {"error": message, ...details}}.
 * Services throw it; the HTTP adapters turn it into the response. The message says what failed,
 * on which object, and what to do.
 */
public class HttpProblem extends RuntimeException {

  private final int status;
  private final Map<String, Object> details;

  public HttpProblem(int status, String message) {
    this(status, message, Map.of());
  }

  public HttpProblem(int status, String message, Map<String, Object> details) {
    super(message);
    this.status = status;
    this.details = Map.copyOf(details);
  }

  public HttpProblem(int status, String message, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.details = Map.of();
  }

  public int status() {
    return status;
  }

  /** The response body: {@code error} first, then the details. */
  public Map<String, Object> body() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("error", getMessage());
    m.putAll(details);
    return m;
  }
}
