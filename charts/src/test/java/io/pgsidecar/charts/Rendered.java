package io.pgsidecar.charts;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;

/**
 * The chart rendered with some values (as `--set key=value`), parsed into objects, with the
 * look-ups the tests share: objects by kind, the pod spec, each container by name.
 */
final class Rendered {

  static final YAMLMapper YAML = new YAMLMapper();
  static final ObjectMapper JSON = new ObjectMapper();

  final String text;
  final List<JsonNode> objects;

  private Rendered(String text) {
    this.text = text;
    try {
      this.objects = YAML.readValues(new YAMLFactory().createParser(text), JsonNode.class).readAll()
          .stream().filter(n -> n != null && !n.isNull() && !n.isMissingNode() && n.size() > 0).toList();
    } catch (IOException e) {
      throw new UncheckedIOException("the rendered chart is not valid YAML", e);
    }
  }

  /** The repository's root (the directory holding charts/pgsidecar). */
  static Path repo() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("charts/pgsidecar/Chart.yaml"))) {
        return p;
      }
    }
    throw new IllegalStateException("no charts/pgsidecar/Chart.yaml above " + Path.of("").toAbsolutePath());
  }

  static Path chart() {
    return repo().resolve("charts/pgsidecar");
  }

  /** Renders with `key=value` pairs; release db1 in namespace db. */
  static Rendered with(String... sets) {
    Map<String, String> values = new LinkedHashMap<>();
    for (String s : sets) {
      int eq = s.indexOf('=');
      values.put(s.substring(0, eq), s.substring(eq + 1));
    }
    return new Rendered(ChartTool.template(chart(), "db1", "db", values, List.of()));
  }

  /** Renders with a values file of this content (numbers typed as YAML types them, unlike --set). */
  static Rendered withValuesFile(String yaml) {
    try {
      Path file = Files.createTempFile("pgsidecar-values", ".yaml");
      try {
        Files.writeString(file, yaml);
        return new Rendered(ChartTool.template(chart(), "db1", "db", Map.of(), List.of(file)));
      } finally {
        Files.delete(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The message of the render failure these values cause; fails when they render. */
  static String failureOf(String... sets) {
    try {
      with(sets);
    } catch (RuntimeException e) {
      return e.getMessage();
    }
    throw new AssertionError("rendering with " + List.of(sets) + " succeeded; expected a failure");
  }

  List<JsonNode> ofKind(String kind) {
    return objects.stream().filter(o -> kind.equals(o.path("kind").asText())).toList();
  }

  JsonNode one(String kind) {
    List<JsonNode> all = ofKind(kind);
    if (all.size() != 1) {
      throw new AssertionError("expected one " + kind + ", found " + all.size());
    }
    return all.get(0);
  }

  JsonNode podSpec() {
    return one("StatefulSet").at("/spec/template/spec");
  }

  List<JsonNode> initContainers() {
    return list(podSpec().path("initContainers"));
  }

  List<JsonNode> containers() {
    return list(podSpec().path("containers"));
  }

  /** Init containers first, then the others. */
  List<JsonNode> allContainers() {
    List<JsonNode> all = new ArrayList<>(initContainers());
    all.addAll(containers());
    return all;
  }

  JsonNode container(String name) {
    return allContainers().stream().filter(c -> name.equals(c.path("name").asText())).findFirst()
        .orElseThrow(() -> new AssertionError("no container " + name));
  }

  static List<String> names(List<JsonNode> nodes) {
    return nodes.stream().map(n -> n.path("name").asText()).toList();
  }

  static List<JsonNode> list(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).toList();
  }

  /** The agent's YAML configuration from the ConfigMap. */
  String agentConfig() {
    return ofKind("ConfigMap").stream().filter(c -> c.at("/data/pgsidecar.yaml").isTextual())
        .findFirst().orElseThrow().at("/data/pgsidecar.yaml").asText();
  }

  JsonNode agentConfigTree() {
    try {
      return YAML.readTree(agentConfig());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Where a volume is mounted in a container, or null. */
  static String mountPath(JsonNode container, String volume) {
    for (JsonNode m : container.path("volumeMounts")) {
      if (volume.equals(m.path("name").asText())) {
        return m.path("mountPath").asText();
      }
    }
    return null;
  }

  JsonNode volume(String name) {
    for (JsonNode v : podSpec().path("volumes")) {
      if (name.equals(v.path("name").asText())) {
        return v;
      }
    }
    return null;
  }
}
