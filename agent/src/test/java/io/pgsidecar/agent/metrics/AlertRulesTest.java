package io.pgsidecar.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The alert rules of dashboards/ are valid for Prometheus, behave as their promtool unit tests
 * say, keep the conventions every alert owes an operator, and the PrometheusRule is their copy.
 */
class AlertRulesTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern HEADING = Pattern.compile("(?m)^## (\\S+)\\s*$");

  @Test
  void promtoolAcceptsTheRules() throws Exception {
    String out = promtool("check", "rules", RepoFiles.file("dashboards/alerts.yml").toString());
    assertTrue(out.contains("SUCCESS"), out);
  }

  @Test
  void promtoolAcceptsThePrometheusRuleSpecToo() throws Exception {
    // promtool reads a plain rules file: hand it the spec of the PrometheusRule.
    JsonNode spec = YAML.readTree(RepoFiles.file("dashboards/prometheusrule.yaml").toFile()).get("spec");
    Path tmp = Files.createTempFile("pgsidecar-prometheusrule-spec", ".yml");
    try {
      YAML.writeValue(tmp.toFile(), spec);
      assertTrue(promtool("check", "rules", tmp.toString()).contains("SUCCESS"));
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  @Test
  void promtoolUnitTestsOfEveryAlertPass() throws Exception {
    String out = promtool("test", "rules", RepoFiles.file("dashboards/tests/alerts_test.yml").toString());
    assertTrue(out.contains("SUCCESS"), out);
  }

  @Test
  void prometheusRuleIsTheRulesFileWrappedUnchanged() throws IOException {
    String rules = Files.readString(RepoFiles.file("dashboards/alerts.yml"));
    String wrapped = Files.readString(RepoFiles.file("dashboards/prometheusrule.yaml"));
    String header = """
        # Generated from dashboards/alerts.yml by dashboards/generate-prometheusrule.sh: do not edit.
        apiVersion: monitoring.coreos.com/v1
        kind: PrometheusRule
        metadata:
          name: pgsidecar
          labels:
            app.kubernetes.io/name: pgsidecar
            app.kubernetes.io/component: alert-rules
        spec:
        """;
    String expected = header + rules.lines().map(l -> l.isEmpty() ? l : "  " + l)
        .collect(Collectors.joining("\n", "", rules.endsWith("\n") ? "\n" : ""));
    assertEquals(expected, wrapped,
        "dashboards/prometheusrule.yaml is out of date: run dashboards/generate-prometheusrule.sh");
    JsonNode plain = YAML.readTree(rules);
    JsonNode crd = YAML.readTree(wrapped);
    assertEquals(plain.get("groups"), crd.get("spec").get("groups"));
  }

  @Test
  void everyAlertHasForSeveritySummaryDescriptionWithClusterAndARunbookSection() throws IOException {
    Set<String> sections = runbookSections();
    List<String> problems = new ArrayList<>();
    for (JsonNode rule : alerts()) {
      String name = rule.get("alert").asText();
      if (!rule.has("for")) {
        problems.add(name + ": no for");
      }
      String severity = rule.path("labels").path("severity").asText();
      if (!Set.of("critical", "warning").contains(severity)) {
        problems.add(name + ": severity '" + severity + "' is not critical or warning");
      }
      JsonNode annotations = rule.path("annotations");
      if (annotations.path("summary").asText().isBlank()) {
        problems.add(name + ": no summary");
      }
      if (!annotations.path("description").asText().contains("$labels.cluster")) {
        problems.add(name + ": description does not name {{ $labels.cluster }}");
      }
      String runbook = annotations.path("runbook_url").asText();
      String anchor = runbook.substring(runbook.indexOf('#') + 1);
      if (!runbook.contains("docs/runbook.md#") || !anchor.equals(name.toLowerCase())
          || !sections.contains(anchor)) {
        problems.add(name + ": runbook_url " + runbook + " does not point at its section '## "
            + name + "' of docs/runbook.md");
      }
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void everyAlertIsUnitTestedFiringAndNotFiring() throws IOException {
    JsonNode tests = YAML.readTree(RepoFiles.file("dashboards/tests/alerts_test.yml").toFile());
    Set<String> firing = new HashSet<>();
    Set<String> silent = new HashSet<>();
    for (JsonNode test : tests.get("tests")) {
      for (JsonNode case_ : test.path("alert_rule_test")) {
        String name = case_.get("alertname").asText();
        (case_.path("exp_alerts").isEmpty() ? silent : firing).add(name);
      }
    }
    Set<String> missing = new TreeSet<>();
    for (JsonNode rule : alerts()) {
      String name = rule.get("alert").asText();
      if (!firing.contains(name)) {
        missing.add(name + " (firing)");
      }
      if (!silent.contains(name)) {
        missing.add(name + " (not firing)");
      }
    }
    assertEquals(Set.of(), missing, "alerts without a promtool unit test case");
  }

  static List<JsonNode> alerts() throws IOException {
    JsonNode rules = YAML.readTree(RepoFiles.file("dashboards/alerts.yml").toFile());
    List<JsonNode> alerts = new ArrayList<>();
    for (JsonNode group : rules.get("groups")) {
      for (JsonNode rule : group.get("rules")) {
        if (rule.has("alert")) {
          alerts.add(rule);
        }
      }
    }
    assertFalse(alerts.isEmpty(), "dashboards/alerts.yml holds no alert");
    return alerts;
  }

  private static Set<String> runbookSections() throws IOException {
    Matcher m = HEADING.matcher(Files.readString(RepoFiles.file("docs/runbook.md")));
    Set<String> sections = new HashSet<>();
    while (m.find()) {
      sections.add(m.group(1).toLowerCase());
    }
    return sections;
  }

  /** Runs promtool and returns its output; fails when it exits non-zero or is missing. */
  static String promtool(String... args) throws IOException, InterruptedException {
    if (!onPath("promtool")) {
      fail("promtool not found on PATH: install the prometheus package (./scripts/test.sh does)");
    }
    List<String> command = new ArrayList<>(List.of("promtool"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      fail("promtool " + String.join(" ", args) + " did not finish in 5 minutes");
    }
    assertEquals(0, p.exitValue(), "promtool " + String.join(" ", args) + " failed:\n" + out);
    return out;
  }

  private static boolean onPath(String program) {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(File.pathSeparator)) {
      if (Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }
}
