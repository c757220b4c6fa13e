package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.ListBlobsOptions;
import io.pgsidecar.e2e.KubeletSim.Image;
import io.pgsidecar.testkit.Azurite;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's restore drill CronJob played like a kubelet ({@link KubeletSim}, as
 * {@link PodDrillTest} plays the database pod): the database pod from the built image and the
 * postgres stand-in makes a base backup through its agent into Azurite; then one run of the
 * rendered CronJob's pod: the init container of the pgsidecar image copies the CLI's runtime
 * into the emptyDir, the drill container of the postgres image (uid 999, read-only root, scratch
 * in the /tmp emptyDir) runs the drill with the image's server programs. Its record lands in
 * storage and the agent's /metrics shows the success and the schedule.
 */
class PodDrillJobTest {

  private static final String POSTGRES_SECRET = "db1-pgsidecar-postgres";
  private static final String AZURE_SECRET = "db1-azure-storage";
  private static final Duration POD_TIMEOUT = Duration.ofSeconds(90);
  /** The chart's cluster name for release db1: the fullname. */
  private static final String CLUSTER = "db1-pgsidecar";

  @TempDir
  Path work;

  @Test
  void theCronJobsPodRestoresTheAgentsBackupAndTheAgentShowsTheDrill() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")),
        "the pod drill plays a kubelet: mount namespaces, bind mounts and chroot need root (CI runs as root)");
    Image pgsidecar = KubeletSim.pgsidecarImage();
    Image postgres = KubeletSim.postgresImage();
    int pgPort = KubeletSim.freePort();
    int metricsPort = KubeletSim.freePort();
    try (var azurite = Azurite.launch("pgsidecar")) {
      Map<String, Map<String, String>> secrets = Map.of(
          POSTGRES_SECRET, Map.of("POSTGRES_PASSWORD", "pw-" + UUID.randomUUID(),
              "POSTGRES_USER", "shopadmin", "POSTGRES_DB", "shop"),
          AZURE_SECRET, Map.of("connection-string", azurite.connectionString()));
      var kubelet = new KubeletSim(work, Map.of("localhost/pgsidecar:drill", pgsidecar,
          "postgres:15", postgres), secrets);
      List<JsonNode> objects = KubeletSim.render(new ArrayList<>(List.of(
          "image.repository=localhost/pgsidecar", "image.tag=drill",
          "postgresql.image.repository=postgres",
          "storage.type=azure", "storage.azure.container=pgsidecar",
          "storage.azure.auth=connection-string", "storage.azure.existingSecret=" + AZURE_SECRET,
          "postgresql.port=" + pgPort, "metrics.port=" + metricsPort,
          "backup.schedule=", "dump.schedule=", "drill.enabled=true")));
      JsonNode cronJob = KubeletSim.object(objects, "CronJob");

      try (var pod = kubelet.start(KubeletSim.object(objects, "StatefulSet"), objects, POD_TIMEOUT)) {
        var backup = pod.container("agent").exec(Duration.ofMinutes(3),
            "/opt/pgsidecar/bin/pgsidecar", "backup", "create", "--wait", "--label", "for the drill");
        assertEquals(0, backup.exitCode(), backup.output());
        String id = backup.output().lines().map(l -> l.replaceAll(".*(\\d{8}T\\d{6}Z).*", "$1"))
            .filter(l -> l.matches("\\d{8}T\\d{6}Z")).findFirst().orElseThrow(
                () -> new AssertionError("no backup id in: " + backup.output()));

        try (var job = kubelet.startJob(cronJob, objects, POD_TIMEOUT)) {
          var drill = job.container("drill");
          assertTrue(drill.process.waitFor(5, TimeUnit.MINUTES), "the drill did not end in 5"
              + " minutes\n" + job.logs());
          String log = Files.readString(drill.log);
          System.out.println("---- drill container\n" + log);
          assertEquals(0, drill.process.exitValue(), job.logs());
          assertTrue(log.contains("restore drill of backup " + id + " succeeded in "), log);
          assertTrue(log.contains("WAL gaps: none"), log);
        }

        List<String> records = new ArrayList<>();
        for (BlobItem b : azurite.containerClient("pgsidecar").listBlobs(new ListBlobsOptions(), null)) {
          if (b.getName().contains("/drills/")) {
            records.add(b.getName());
          }
        }
        assertEquals(1, records.size(), "one drill record: " + records);
        assertTrue(records.get(0).matches(CLUSTER + "/drills/\\d{8}-\\d{6}-[0-9a-f]{8}\\.json"),
            records.get(0));

        String[] scrape = {""};
        KubeletSim.waitUntil(Duration.ofMinutes(3), "the drill's success in the agent's /metrics",
            () -> {
              scrape[0] = LocalHttp.metrics(metricsPort);
              return scrape[0].contains(
                  "pgsidecar_restore_drill_runs_total{cluster=\"" + CLUSTER + "\",result=\"ok\"} 1.0")
                  && scrape[0].contains("pgsidecar_restore_drill_scheduled{cluster=\"" + CLUSTER + "\"} 1.0");
            });
        var status = pod.container("agent").exec(Duration.ofMinutes(2),
            "/opt/pgsidecar/bin/pgsidecar", "status");
        String line = status.output().lines().filter(l -> l.startsWith("restore drill"))
            .findFirst().orElse(status.output());
        assertTrue(line.contains("by the drill CronJob) restored backup " + id + " to consistency"),
            line);
      }
    }
  }
}
