package io.pgsidecar.core.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The effective configuration as YAML in the shape of the config file ({@code pgsidecar config
 * show}), every key present, unset ones as {@code null}, secrets as {@code <redacted>}. What it
 * prints loads back into the same configuration (secrets aside).
 */
public final class ConfigPrinter {

  public static final String REDACTED = "<redacted>";

  private static final YAMLMapper YAML = YAMLMapper.builder()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
      // text that YAML would read as a number ("1e3", ".inf") keeps its quotes, so that the
      // output loads back as the same text
      .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
      .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
      .build();

  private ConfigPrinter() {}

  public static String yaml(PgsidecarConfig config) {
    Map<String, Object> root = new LinkedHashMap<>();
    for (Param<?> p : ConfigParameters.ALL) {
      put(root, p.key(), value(p, config));
    }
    try {
      return YAML.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Object value(Param<?> p, PgsidecarConfig config) {
    Object v = p.read().apply(config);
    if (v instanceof Optional<?> o) {
      v = o.orElse(null);
    }
    if (v == null) {
      return null;
    }
    if (p.secret()) {
      return REDACTED;
    }
    // Numbers and booleans stay numbers and booleans in YAML; sizes are Longs shown as "8MiB".
    return v instanceof Integer || v instanceof Boolean ? v : p.type().format(v);
  }

  @SuppressWarnings("unchecked")
  private static void put(Map<String, Object> root, String key, Object value) {
    String[] parts = key.split("\\.");
    Map<String, Object> m = root;
    for (int i = 0; i < parts.length - 1; i++) {
      m = (Map<String, Object>) m.computeIfAbsent(parts[i], k -> new LinkedHashMap<String, Object>());
    }
    m.put(parts[parts.length - 1], value);
  }
}
