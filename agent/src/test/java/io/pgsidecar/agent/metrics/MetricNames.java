package io.pgsidecar.agent.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Metric names used by the alert rules and the dashboard, read from their PromQL. A name is any
 * identifier outside quotes that starts with a prefix the agent exports ({@code pgsidecar_},
 * {@code jvm_}, {@code process_}, {@code system_}); label names, functions and keywords never do.
 * Compare the result with {@link Scrape#names()} of any scrape: this class's unit test, or an
 * integration test against a running agent.
 */
public final class MetricNames {
  private static final Pattern QUOTED = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
  private static final Pattern IDENTIFIER = Pattern.compile("(?<![a-zA-Z0-9_:])[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final List<String> EXPORTED_PREFIXES = List.of("pgsidecar_", "jvm_", "process_", "system_");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private MetricNames() {}

  /** Metric names in one PromQL expression. */
  public static Set<String> inPromql(String expr) {
    String unquoted = QUOTED.matcher(expr).replaceAll("\"\"");
    Set<String> names = new TreeSet<>();
    Matcher m = IDENTIFIER.matcher(unquoted);
    while (m.find()) {
      String id = m.group();
      if (EXPORTED_PREFIXES.stream().anyMatch(id::startsWith)) {
        names.add(id);
      }
    }
    return names;
  }

  /** Every {@code expr} of a Prometheus rules file. */
  public static List<String> ruleExpressions(Path rulesFile) throws IOException {
    List<String> exprs = new ArrayList<>();
    for (JsonNode group : YAML.readTree(rulesFile.toFile()).get("groups")) {
      for (JsonNode rule : group.get("rules")) {
        exprs.add(rule.get("expr").asText());
      }
    }
    return exprs;
  }

  /** Every target {@code expr} of a Grafana dashboard (nested rows too) and its variable queries. */
  public static List<String> dashboardExpressions(Path dashboardJson) throws IOException {
    JsonNode dashboard = JSON.readTree(dashboardJson.toFile());
    List<String> exprs = new ArrayList<>();
    collectPanels(dashboard.path("panels"), exprs);
    for (JsonNode variable : dashboard.path("templating").path("list")) {
      if ("query".equals(variable.path("type").asText())) {
        JsonNode q = variable.path("query");
        exprs.add(q.isObject() ? q.path("query").asText() : q.asText());
      }
    }
    return exprs;
  }

  private static void collectPanels(JsonNode panels, List<String> exprs) {
    for (JsonNode panel : panels) {
      for (JsonNode target : panel.path("targets")) {
        if (target.hasNonNull("expr")) {
          exprs.add(target.get("expr").asText());
        }
      }
      collectPanels(panel.path("panels"), exprs);
    }
  }

  /** Names used by {@code exprs} that {@code scrape} does not export. */
  public static Set<String> missingFrom(Scrape scrape, List<String> exprs) {
    Set<String> exported = scrape.names();
    Set<String> missing = new TreeSet<>();
    for (String e : exprs) {
      for (String name : inPromql(e)) {
        if (!exported.contains(name)) {
          missing.add(name);
        }
      }
    }
    return missing;
  }
}
