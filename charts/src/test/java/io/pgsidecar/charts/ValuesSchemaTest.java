package io.pgsidecar.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * values.yaml and values.schema.json name the same values: the schema rejects every key that is
 * not a documented default (typos fail the render, ChartRenderTest), and no schema entry lacks its
 * commented default in values.yaml. Free-form maps (settings, labels) and resources are leaves.
 */
class ValuesSchemaTest {

  @Test
  void schemaAndValuesNameTheSameKeys() throws Exception {
    JsonNode values = Rendered.YAML.readTree(Rendered.chart().resolve("values.yaml").toFile());
    JsonNode schema = Rendered.JSON.readTree(Rendered.chart().resolve("values.schema.json").toFile());
    Set<String> fromValues = new TreeSet<>();
    Set<String> fromSchema = new TreeSet<>();
    valueKeys("", values, schema, fromValues);
    schemaKeys("", schema, fromSchema);
    fromSchema.remove("global"); // Helm's own, for parent charts
    assertEquals(fromSchema, fromValues);
  }

  @Test
  void everyValueHasItsCommentRightAboveIt() throws Exception {
    JsonNode values = Rendered.YAML.readTree(Rendered.chart().resolve("values.yaml").toFile());
    JsonNode schema = Rendered.JSON.readTree(Rendered.chart().resolve("values.schema.json").toFile());
    Set<String> keys = new TreeSet<>();
    valueKeys("", values, schema, keys);
    List<String> lines = Files.readAllLines(Rendered.chart().resolve("values.yaml"));
    List<String> uncommented = new ArrayList<>();
    List<String> path = new ArrayList<>();
    List<Integer> indents = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher m = KEY.matcher(lines.get(i));
      if (!m.matches()) {
        continue;
      }
      int indent = m.group(1).length();
      while (!indents.isEmpty() && indents.get(indents.size() - 1) >= indent) {
        indents.remove(indents.size() - 1);
        path.remove(path.size() - 1);
      }
      indents.add(indent);
      path.add(m.group(2));
      String key = String.join(".", path);
      boolean leaf = keys.contains(key) && keys.stream().noneMatch(k -> k.startsWith(key + "."));
      if (leaf && (i == 0 || !lines.get(i - 1).strip().startsWith("#"))) {
        uncommented.add(key + " (line " + (i + 1) + ")");
      }
    }
    assertEquals(List.of(), uncommented, "values without a comment right above them");
  }

  private static final Pattern KEY = Pattern.compile("^(\\s*)([A-Za-z_][\\w-]*):.*$");

  /** Keys of values.yaml, descending only where the schema closes the object. */
  private static void valueKeys(String prefix, JsonNode value, JsonNode schema, Set<String> out) {
    for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext();) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = prefix + e.getKey();
      out.add(key);
      JsonNode sub = schema.path("properties").path(e.getKey());
      if (e.getValue().isObject() && closed(e.getKey(), sub)) {
        valueKeys(key + ".", e.getValue(), sub, out);
      }
    }
  }

  /** An object the schema closes, and that is not a Kubernetes resources block (a leaf here). */
  private static boolean closed(String key, JsonNode schema) {
    return schema.path("additionalProperties").isBoolean() && schema.has("properties")
        && !key.toLowerCase(java.util.Locale.ROOT).endsWith("resources");
  }

  private static void schemaKeys(String prefix, JsonNode schema, Set<String> out) {
    for (Iterator<Map.Entry<String, JsonNode>> it = schema.path("properties").fields(); it.hasNext();) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = prefix + e.getKey();
      out.add(key);
      JsonNode sub = e.getValue();
      if (closed(e.getKey(), sub)) {
        schemaKeys(key + ".", sub, out);
      }
    }
  }
}
