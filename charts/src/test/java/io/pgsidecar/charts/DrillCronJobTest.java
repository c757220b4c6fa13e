package io.pgsidecar.charts;

import static io.pgsidecar.charts.Rendered.list;
import static io.pgsidecar.charts.Rendered.names;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The restore drill's CronJob (drill.enabled): the pgsidecar image's runtime copied into an
 * emptyDir by an init container, the drill run by the postgres image (it has the server
 * programs), with the agent's configuration, service account and storage credentials.
 */
class DrillCronJobTest {

  static final String[] WORKLOAD_IDENTITY = {ValueSets.ACCOUNT, ValueSets.CLIENT_ID};

  private static String[] with(String[] base, String... more) {
    return java.util.stream.Stream.concat(java.util.Arrays.stream(base),
        java.util.Arrays.stream(more)).toArray(String[]::new);
  }

  @Test
  void noCronJobUnlessEnabled() {
    assertEquals(List.of(), Rendered.with(WORKLOAD_IDENTITY).ofKind("CronJob"));
  }

  @Test
  void theDrillRunsInThePostgresImageWithTheRuntimeOfThePgsidecarImage() {
    Rendered r = Rendered.with(with(WORKLOAD_IDENTITY, "drill.enabled=true"));
    JsonNode cron = r.one("CronJob");
    assertEquals("db1-pgsidecar-drill", cron.at("/metadata/name").asText());
    assertEquals("0 3 * * 0", cron.at("/spec/schedule").asText());
    assertEquals("UTC", cron.at("/spec/timeZone").asText());
    assertEquals("Forbid", cron.at("/spec/concurrencyPolicy").asText());
    JsonNode job = cron.at("/spec/jobTemplate/spec");
    assertEquals(7200, job.path("activeDeadlineSeconds").asInt());
    assertEquals(0, job.path("backoffLimit").asInt(), "a failed drill is a result, not retried");
    JsonNode pod = job.at("/template/spec");
    assertEquals("Never", pod.path("restartPolicy").asText());
    assertEquals(r.podSpec().path("serviceAccountName").asText(),
        pod.path("serviceAccountName").asText(), "the agent's identity");
    assertEquals("true", job.at("/template/metadata/labels").path("azure.workload.identity/use")
        .asText(), "workload identity's webhook must see the drill's pod");
    assertFalse(pod.path("automountServiceAccountToken").asBoolean(true));

    List<JsonNode> init = list(pod.path("initContainers"));
    assertEquals(List.of("install-runtime"), names(init));
    assertEquals(r.container("agent").path("image").asText(), init.get(0).path("image").asText());
    assertEquals(List.of("/opt/pgsidecar/bin/pgsidecar-install-runtime", "/pgsidecar"),
        list(init.get(0).path("command")).stream().map(JsonNode::asText).toList());

    List<JsonNode> containers = list(pod.path("containers"));
    assertEquals(List.of("drill"), names(containers));
    JsonNode drill = containers.get(0);
    assertEquals(r.container("postgres").path("image").asText(), drill.path("image").asText());
    assertEquals(List.of("/pgsidecar/bin/pgsidecar", "drill"),
        list(drill.path("command")).stream().map(JsonNode::asText).toList());
    Map<String, String> env = new LinkedHashMap<>();
    for (JsonNode e : list(drill.path("env"))) {
      env.put(e.path("name").asText(), e.path("value").asText(e.path("valueFrom").toString()));
    }
    assertEquals("/usr/lib/postgresql/15/bin", env.get("PGSIDECAR_POSTGRES_BIN_DIR"));
    assertEquals("/tmp/pgsidecar-drill", env.get("PGSIDECAR_VERIFY_WORK_DIR"));
    assertEquals("/etc/pgsidecar/config/pgsidecar.yaml", env.get("PGSIDECAR_CONFIG"));
    assertTrue(env.containsKey("PGSIDECAR_POSTGRES_USER"));

    for (JsonNode c : List.of(init.get(0), drill)) {
      JsonNode sc = c.path("securityContext");
      String where = c.path("name").asText();
      assertTrue(sc.path("runAsNonRoot").asBoolean(), where);
      assertEquals(999, sc.path("runAsUser").asInt(), where);
      assertTrue(sc.path("readOnlyRootFilesystem").asBoolean(), where);
      assertFalse(sc.path("allowPrivilegeEscalation").asBoolean(true), where);
      assertEquals("[\"ALL\"]", sc.at("/capabilities/drop").toString(), where);
    }
    Map<String, JsonNode> mounts = new LinkedHashMap<>();
    list(drill.path("volumeMounts")).forEach(m -> mounts.put(m.path("mountPath").asText(), m));
    assertEquals("pgsidecar", mounts.get("/pgsidecar").path("name").asText());
    assertTrue(mounts.get("/pgsidecar").path("readOnly").asBoolean(), "the drill only runs the runtime");
    assertEquals("tmp", mounts.get("/tmp").path("name").asText());
    assertEquals("config", mounts.get("/etc/pgsidecar/config").path("name").asText());
    Map<String, JsonNode> volumes = new LinkedHashMap<>();
    list(pod.path("volumes")).forEach(v -> volumes.put(v.path("name").asText(), v));
    assertTrue(volumes.get("pgsidecar").has("emptyDir"));
    assertTrue(volumes.get("tmp").has("emptyDir"), "scratch in an emptyDir");
    assertEquals("db1-pgsidecar", volumes.get("config").at("/configMap/name").asText());
  }

  @Test
  void anotherImageAndTheStorageSecretsAndEncryptionKeysOfTheAgent() {
    Rendered r = Rendered.with(ValueSets.ALL.get("restore drill CronJob on S3 with keys and encryption"));
    JsonNode pod = r.one("CronJob").at("/spec/jobTemplate/spec/template/spec");
    JsonNode drill = list(pod.path("containers")).get(0);
    assertEquals("registry.example/postgres:15", drill.path("image").asText());
    assertEquals("20Gi", list(pod.path("volumes")).stream()
        .filter(v -> v.path("name").asText().equals("tmp")).findFirst().orElseThrow()
        .at("/emptyDir/sizeLimit").asText());
    for (String name : List.of("storage-secret", "encryption")) {
      JsonNode inPod = list(r.podSpec().path("volumes")).stream()
          .filter(v -> v.path("name").asText().equals(name)).findFirst().orElseThrow();
      JsonNode inDrill = list(pod.path("volumes")).stream()
          .filter(v -> v.path("name").asText().equals(name)).findFirst().orElseThrow();
      assertEquals(inPod, inDrill, name + ": the same volume as the agent's");
      JsonNode agentMount = list(r.container("agent").path("volumeMounts")).stream()
          .filter(m -> m.path("name").asText().equals(name)).findFirst().orElseThrow();
      JsonNode drillMount = list(drill.path("volumeMounts")).stream()
          .filter(m -> m.path("name").asText().equals(name)).findFirst().orElseThrow();
      assertEquals(agentMount, drillMount, name + ": mounted where the agent has it");
    }
  }

  @Test
  void aRepositoryOnThePodsOwnVolumeIsRefused() {
    assertTrue(Rendered.failureOf("storage.type=filesystem", "drill.enabled=true").contains(
        "drill.enabled needs a repository the drill's pod can reach: storage.type azure or s3, or"
        + " storage.filesystem.existingClaim on a ReadWriteMany volume"));
    JsonNode pod = Rendered.with("storage.type=filesystem", "storage.filesystem.existingClaim=backups",
        "drill.enabled=true").one("CronJob").at("/spec/jobTemplate/spec/template/spec");
    assertEquals("backups", list(pod.path("volumes")).stream()
        .filter(v -> v.path("name").asText().equals("repository")).findFirst().orElseThrow()
        .at("/persistentVolumeClaim/claimName").asText());
  }
}
