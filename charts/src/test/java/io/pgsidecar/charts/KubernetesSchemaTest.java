package io.pgsidecar.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rendered object against the Kubernetes API schemas (and the Prometheus Operator's for
 * PodMonitor and PrometheusRule), offline, with the npm packages kubernetes-models 5.1.0 and
 * @kubernetes-models/prometheus-operator 6.0.0 that ./scripts/test.sh installs into
 * .cache/kubernetes-models-5.1.0 (or PGSIDECAR_KUBERNETES_MODELS names their node_modules).
 * All value sets go through one node process (one start instead of one per set).
 */
class KubernetesSchemaTest {

  private static final Map<String, List<JsonNode>> RENDERED = new LinkedHashMap<>();
  private static Result all;

  @BeforeAll
  static void validateEveryValueSet() throws Exception {
    ValueSets.ALL.forEach((name, sets) -> RENDERED.put(name, Rendered.with(sets).objects));
    all = validate(RENDERED);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("io.pgsidecar.charts.ValueSets#all")
  void everyRenderedObjectIsValidForTheKubernetesApi(String name, String[] sets) {
    List<String> lines = all.output().lines().filter(l -> l.startsWith(name + ": ")).toList();
    assertEquals(List.of(), lines.stream().filter(l -> !l.startsWith(name + ": valid ")).toList(), all.output());
    assertEquals(RENDERED.get(name).size(), lines.size(), "one verdict per object:\n" + all.output());
  }

  @Test
  void everyValueSetPassedAsAWhole() {
    assertEquals(0, all.exit(), all.output());
  }

  @Test
  void theValidatorRejectsABrokenStatefulSet() throws Exception {
    ObjectNode sts = Rendered.with().one("StatefulSet").deepCopy();
    ((ObjectNode) sts.get("spec")).remove("selector");
    ((ObjectNode) sts.at("/spec/template/spec/containers/0/ports/0")).put("containerPort", "five");
    Result res = validate(Map.of("broken", List.of(sts)));
    assertEquals(1, res.exit(), res.output());
    assertTrue(res.output().contains("broken: INVALID StatefulSet db1-pgsidecar")
        && res.output().contains("must have required property selector")
        && res.output().contains("containerPort must be integer"), res.output());
  }

  record Result(int exit, String output) {}

  static Result validate(Map<String, List<JsonNode>> sets) throws Exception {
    Path script = Rendered.repo().resolve("charts/src/test/node/validate-k8s.mjs");
    Process p = new ProcessBuilder("node", script.toString(), modules().toString())
        .redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      in.write(Rendered.JSON.writeValueAsBytes(sets));
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("node validate-k8s.mjs did not finish in 60 s:\n" + out);
    }
    return new Result(p.exitValue(), out);
  }

  static Path modules() {
    String env = System.getenv("PGSIDECAR_KUBERNETES_MODELS");
    Path dir = env != null && !env.isBlank() ? Path.of(env)
        : Rendered.repo().resolve(".cache/kubernetes-models-5.1.0/node_modules");
    if (!Files.isDirectory(dir.resolve("kubernetes-models"))
        || !Files.isDirectory(dir.resolve("@kubernetes-models/prometheus-operator"))) {
      throw new IllegalStateException(dir + " lacks kubernetes-models 5.1.0 and "
          + "@kubernetes-models/prometheus-operator 6.0.0: run ./scripts/test.sh, which installs them");
    }
    return dir;
  }
}
