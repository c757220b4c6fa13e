package io.pgsidecar.e2e;

import static io.pgsidecar.e2e.KubeletSim.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * /usr/bin/prometheus (apt) on a free port: scrapes the agent at the rendered PodMonitor's port
 * (by name, from the StatefulSet) and path, and evaluates the rendered PrometheusRule's groups.
 */
final class Prometheus implements AutoCloseable {
  private final Process process;
  private final int port;

  private Prometheus(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  static Prometheus start(Path dir, List<JsonNode> objects, int agentPort) throws Exception {
    Files.createDirectories(dir);
    JsonNode endpoint = KubeletSim.object(objects, "PodMonitor").path("spec").path("podMetricsEndpoints").path(0);
    int port = -1;
    for (JsonNode c : KubeletSim.object(objects, "StatefulSet").path("spec").path("template").path("spec").path("initContainers")) {
      for (JsonNode p : c.path("ports")) {
        if (p.path("name").asText().equals(endpoint.path("port").asText())) {
          port = p.path("containerPort").asInt();
        }
      }
    }
    assertEquals(agentPort, port, "the PodMonitor's port names the agent's metrics port");
    Path rules = dir.resolve("rules.yml");
    KubeletSim.YAML.writeValue(rules.toFile(), KubeletSim.object(objects, "PrometheusRule").path("spec"));
    ObjectNode config = KubeletSim.JSON.createObjectNode();
    config.putObject("global").put("scrape_interval", endpoint.path("interval").asText("30s"))
        .put("evaluation_interval", "1s");
    config.putArray("rule_files").add(rules.toString());
    ObjectNode job = config.putArray("scrape_configs").addObject();
    job.put("job_name", "pgsidecar").put("metrics_path", endpoint.path("path").asText("/metrics"))
        .putArray("static_configs").addObject().putArray("targets").add("127.0.0.1:" + port);
    Path file = dir.resolve("prometheus.yml");
    KubeletSim.YAML.writeValue(file.toFile(), config);
    int webPort = KubeletSim.freePort();
    Process p = new ProcessBuilder("/usr/bin/prometheus", "--config.file=" + file,
        "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + webPort)
        .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
    var prometheus = new Prometheus(p, webPort);
    try {
      waitUntil(Duration.ofSeconds(30), "Prometheus ready; log: " + dir.resolve("prometheus.log"), prometheus::ready);
      assertTrue(prometheus.get("/api/v1/rules").contains("PgsidecarWalArchivingFailing"), "rules loaded");
    } catch (Throwable e) {
      prometheus.close();
      throw e;
    }
    return prometheus;
  }

  private boolean ready() {
    try {
      return LocalHttp.HTTP.send(LocalHttp.get(port, "/-/ready"),
          HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  String get(String path) throws IOException, InterruptedException {
    return LocalHttp.HTTP.send(LocalHttp.get(port, path), HttpResponse.BodyHandlers.ofString()).body();
  }

  String query(String promql) throws IOException, InterruptedException {
    return get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
  }

  String alerts() throws IOException, InterruptedException {
    return get("/api/v1/alerts");
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }
}
