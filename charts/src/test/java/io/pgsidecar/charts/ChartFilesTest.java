package io.pgsidecar.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * dashboards/ is the one source of the alert rules and the dashboard; the chart's files/ hold
 * copies (Helm reads no file outside the chart) made by `./scripts/chart.sh sync`. These tests
 * fail when a copy drifts, and prove the rendered objects carry the source unchanged (the rules'
 * {{ $labels }} templates included, which Helm must not touch).
 */
class ChartFilesTest {

  @Test
  void chartCopiesOfTheDashboardsAreCurrent() throws Exception {
    Path repo = Rendered.repo();
    for (String f : List.of("alerts.yml", "pgsidecar.json")) {
      assertEquals(Files.readString(repo.resolve("dashboards/" + f)),
          Files.readString(repo.resolve("charts/pgsidecar/files/" + f)),
          "charts/pgsidecar/files/" + f + " differs from dashboards/" + f + ": run ./scripts/chart.sh sync");
    }
  }

  @Test
  void prometheusRuleHoldsTheGroupsOfAlertsYmlUnchanged() throws Exception {
    JsonNode source = Rendered.YAML.readTree(Rendered.repo().resolve("dashboards/alerts.yml").toFile());
    JsonNode rule = Rendered.with().one("PrometheusRule");
    assertEquals(source, rule.path("spec"));
    assertTrue(rule.toString().contains("{{ $labels.cluster }}"), "alert templates reach Prometheus as written");
  }

  @Test
  void dashboardConfigMapHoldsTheDashboardUnchanged() throws Exception {
    JsonNode source = Rendered.JSON.readTree(Rendered.repo().resolve("dashboards/pgsidecar.json").toFile());
    JsonNode cm = Rendered.with().ofKind("ConfigMap").stream()
        .filter(c -> c.at("/metadata/name").asText().endsWith("-dashboard")).findFirst().orElseThrow();
    assertEquals(source, Rendered.JSON.readTree(cm.at("/data/pgsidecar.json").asText()));
    assertEquals("1", cm.at("/metadata/labels/grafana_dashboard").asText());
  }
}
