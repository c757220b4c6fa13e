package io.pgsidecar.e2e;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;

/**
 * The agent's /metrics as the tests poll it: HTTP/1.1, as Prometheus scrapes (the JDK client's
 * default asks for an h2c upgrade), one client for all polls, and a bounded wait per request. A
 * poll runs on the waiting thread, so a response that never came would hang the test past its
 * own bound (it did once, 20 minutes in PodDrillTest): a scrape that times out counts as "not
 * yet" and the next poll asks again.
 */
final class MetricsScrape {

  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  private MetricsScrape() {}

  /** The body of {@code http://127.0.0.1:PORT/metrics}, or "" when it did not come within 10 s. */
  static String body(int port) throws IOException, InterruptedException {
    var request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build();
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString()).body();
    } catch (HttpTimeoutException e) {
      return "";
    }
  }
}
