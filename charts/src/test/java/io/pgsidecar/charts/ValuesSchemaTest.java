package io.pgsidecar.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
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
