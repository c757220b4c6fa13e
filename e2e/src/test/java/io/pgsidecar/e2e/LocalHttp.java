package io.pgsidecar.e2e;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/**
 * HTTP to a process of the drill on the loopback (the agent's /metrics, Prometheus's API), as
 * Prometheus itself scrapes: HTTP/1.1 (the JDK client's default asks for an h2c upgrade), one
 * client for every call, and a bounded wait per request. A poll runs on the waiting thread, so
 * a response that never came would hang a test past its own bound (it did once, 20 minutes in
 * PodDrillTest).
 */
final class LocalHttp {

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  private LocalHttp() {}

  /** A GET of {@code http://127.0.0.1:PORT/PATH} that gives up after 10 s. */
  static HttpRequest get(int port, String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).build();
  }

  /**
   * The agent's /metrics on {@code port}, or "" when it did not come within 10 s: a poll counts
   * that as "not yet" and asks again.
   */
  static String metrics(int port) throws IOException, InterruptedException {
    try {
      return HTTP.send(get(port, "/metrics"), HttpResponse.BodyHandlers.ofString()).body();
    } catch (HttpTimeoutException e) {
      return "";
    }
  }
}
