package io.pgsidecar.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The Grafana dashboard loads with a data source and cluster variable, and its PromQL parses. */
class DashboardTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode dashboard() throws IOException {
    return JSON.readTree(RepoFiles.file("dashboards/pgsidecar.json").toFile());
  }

  @Test
  void hasADataSourceVariableAndAClusterVariableFromAPgsidecarMetric() throws IOException {
    JsonNode d = dashboard();
    assertTrue(d.get("schemaVersion").asInt() >= 39);
    JsonNode vars = d.path("templating").path("list");
    assertEquals("datasource", vars.get(0).path("type").asText());
    assertEquals("prometheus", vars.get(0).path("query").asText());
    assertEquals("cluster", vars.get(1).path("name").asText());
    assertTrue(vars.get(1).path("query").path("query").asText().matches("label_values\\(pgsidecar_\\w+, cluster\\)"));
  }

  @Test
  void everyQueryUsesTheDataSourceVariableAndFiltersByCluster() throws IOException {
    List<String> problems = new ArrayList<>();
    Set<Integer> ids = new HashSet<>();
    for (JsonNode panel : dashboard().path("panels")) {
      if (!ids.add(panel.path("id").asInt())) {
        problems.add("panel id " + panel.path("id") + " used twice");
      }
      for (JsonNode target : panel.path("targets")) {
        String expr = target.path("expr").asText();
        if (!"${datasource}".equals(target.path("datasource").path("uid").asText())) {
          problems.add(panel.path("title").asText() + ": target without the ${datasource} variable");
        }
        if (!expr.contains("cluster=~\"$cluster\"")) {
          problems.add(panel.path("title").asText() + ": " + expr + " does not filter by $cluster");
        }
      }
    }
    assertEquals(List.of(), problems);
  }

  /** Grafana's variables replaced by values, every query becomes a recording rule promtool checks. */
  @Test
  void everyQueryIsValidPromql() throws Exception {
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    ObjectNode file = yaml.createObjectNode();
    ObjectNode group = file.putArray("groups").addObject().put("name", "dashboard");
    ArrayNode rules = group.putArray("rules");
    List<String> exprs = MetricNames.dashboardExpressions(RepoFiles.file("dashboards/pgsidecar.json"));
    for (int i = 0; i < exprs.size(); i++) {
      String expr = exprs.get(i).replace("$__rate_interval", "5m").replace("$__range", "1h")
          .replace("$cluster", ".+");
      if (expr.startsWith("label_values(")) {
        continue;
      }
      rules.addObject().put("record", "dashboard:query" + i).put("expr", expr);
    }
    Path tmp = Files.createTempFile("pgsidecar-dashboard-queries", ".yml");
    try {
      yaml.writeValue(tmp.toFile(), file);
      String out = AlertRulesTest.promtool("check", "rules", tmp.toString());
      assertTrue(out.contains("SUCCESS: " + rules.size() + " rules found"), out);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
