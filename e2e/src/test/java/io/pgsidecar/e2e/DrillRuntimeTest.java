package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.testkit.Azurite;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's drill CronJob, in parts on this machine (the pod itself needs the postgres image's
 * root file system, see the report in container/README.md): the image's pgsidecar home
 * ({@code /opt/pgsidecar} layout: a jlinked JRE, the launchers of container/bin, the agent jar),
 * {@code pgsidecar-install-runtime DIR} as the init container runs it, then the installed
 * {@code DIR/bin/pgsidecar drill} as the drill container runs it, with the server programs of
 * {@code PGSIDECAR_POSTGRES_BIN_DIR}, against a base backup the agent made in the same test into
 * Azurite. The drill's record lands in storage and the running agent's {@code /metrics} and
 * {@code pgsidecar status} show its success.
 */
class DrillRuntimeTest {

  @TempDir
  Path dir;

  @Test
  void theInstalledRuntimeRunsADrillWhoseRecordTheAgentShows() throws Exception {
    Path home = imageHome(dir.resolve("image/opt/pgsidecar"));
    Path emptyDir = Files.createDirectories(dir.resolve("pod/pgsidecar"));

    // the init container
    Result install = run(List.of(home.resolve("bin/pgsidecar-install-runtime").toString(),
        emptyDir.toString()), Map.of());
    assertEquals(0, install.code(), install.out());
    assertEquals("installed " + emptyDir.resolve("bin/pgsidecar") + "\n", install.out());
    String launcher = Files.readString(emptyDir.resolve("bin/pgsidecar"));
    assertFalse(launcher.contains("/opt/pgsidecar/"), launcher);
    assertTrue(launcher.contains("exec " + emptyDir + "/jre/bin/java "), launcher);
    assertTrue(Files.isExecutable(emptyDir.resolve("jre/bin/java")));
    assertFalse(Files.exists(emptyDir.resolve("lib/pgsidecar.aot")), "the class-data archive is"
        + " tied to the image's paths and stays there");

    Result version = run(List.of(emptyDir.resolve("bin/pgsidecar").toString(), "--version"),
        Map.of());
    assertEquals(0, version.code(), version.out());
    assertTrue(version.out().startsWith("pgsidecar "), version.out());

    int metricsPort = KubeletSim.freePort();
    try (Azurite azurite = Azurite.launch();
        FaultRig rig = new FaultRig(dir.resolve("db"), azurite, azurite.endpoint(), "", "10s", 2,
            metricsPort)) {
      rig.pg.sql("CREATE TABLE drilled AS SELECT g FROM generate_series(1, 1000) g");
      String backup = rig.backup("for the drill");
      rig.archiveCurrentSegment();

      // the drill container: the installed runtime, the server programs of the "postgres image"
      Path work = Files.createDirectories(dir.resolve("pod/tmp"));
      Result drill = run(List.of(emptyDir.resolve("bin/pgsidecar").toString(), "--config",
          rig.config.toString(), "drill"), Map.of(
              "PGSIDECAR_POSTGRES_BIN_DIR", rig.pg.binDir().toString(),
              "PGSIDECAR_VERIFY_WORK_DIR", work.resolve("pgsidecar-drill").toString(),
              "PGSIDECAR_VERIFY_PROBE_QUERY", "SELECT count(*) FROM drilled"));
      System.out.println("$ /pgsidecar/bin/pgsidecar drill\n" + drill.out());
      assertEquals(0, drill.code(), drill.out());
      assertTrue(drill.out().contains("restore drill of backup " + backup + " succeeded in "),
          drill.out());
      assertTrue(drill.out().contains("; probe: 1000; recoverable window "), drill.out());
      List<String> records = rig.blobNames(FaultRig.PREFIX + "/" + FaultRig.CLUSTER + "/drills/");
      assertEquals(1, records.size(), String.valueOf(records));
      assertTrue(drill.out().contains("recorded: " + records.get(0) + "\n"), drill.out());

      // the agent takes the record over on its next read (every minute)
      String[] scrape = {""};
      KubeletSim.waitUntil(Duration.ofMinutes(3), "the drill's success in the agent's /metrics",
          () -> {
            scrape[0] = LocalHttp.metrics(metricsPort);
            return scrape[0].contains("pgsidecar_restore_drill_runs_total{cluster=\"db1\",result=\"ok\"} 1.0");
          });
      assertTrue(scrape[0].contains("pgsidecar_restore_drill_scheduled{cluster=\"db1\"} 1.0"),
          "a recorded drill of the CronJob counts as scheduled (PgsidecarRestoreDrillMissing)");
      assertFalse(scrape[0].contains(
          "pgsidecar_restore_drill_last_success_timestamp_seconds{cluster=\"db1\"} 0.0"), scrape[0]);

      Path statusLog = dir.resolve("status.log");
      Process status = AgentProcess.cli(rig.config, statusLog, "status").start();
      assertTrue(status.waitFor(2, TimeUnit.MINUTES));
      String text = Files.readString(statusLog);
      assertEquals(0, status.exitValue(), text);
      String line = text.lines().filter(l -> l.startsWith("restore drill")).findFirst().orElse(text);
      assertTrue(line.matches("restore drill last success at \\S+ \\(\\d+ ms, by the drill CronJob\\)"
          + " restored backup " + backup + " to consistency; window \\d+ s"), line);
    }
  }

  // ---- the image's pgsidecar home, from this build ------------------------------------------

  /**
   * /opt/pgsidecar as scripts/image.sh lays it out: jre/ (the jlinked runtime of .cache/image,
   * else one jlinked here), lib/pgsidecar-agent.jar (here a jar whose manifest names this test's
   * class path: the build's classes and jars), bin/ with container/bin's launchers and bin/lib's
   * JVM flags.
   */
  static Path imageHome(Path home) throws Exception {
    Path repo = KubeletSim.repoRoot();
    Files.createDirectories(home.resolve("bin"));
    Files.createDirectories(home.resolve("lib"));
    Path jre = null;
    Path cache = repo.resolve(".cache/image");
    if (Files.isDirectory(cache)) {
      try (Stream<Path> s = Files.list(cache)) {
        jre = s.filter(p -> p.getFileName().toString().startsWith("jre-")
            && Files.isExecutable(p.resolve("bin/java"))).findFirst().orElse(null);
      }
    }
    if (jre != null) {
      KubeletSim.run(List.of("cp", "-a", jre.toString(), home.resolve("jre").toString()),
          Duration.ofMinutes(2));
    } else {
      KubeletSim.run(List.of(Path.of(System.getProperty("java.home"), "bin", "jlink").toString(),
          "--add-modules", "java.se,jdk.crypto.ec,jdk.unsupported,jdk.zipfs,jdk.naming.dns,"
              + "jdk.management", "--strip-debug", "--no-header-files", "--no-man-pages",
          "--output", home.resolve("jre").toString()), Duration.ofMinutes(5));
    }
    Manifest m = new Manifest();
    m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    m.getMainAttributes().put(Attributes.Name.CLASS_PATH, Stream.of(
        System.getProperty("java.class.path").split(File.pathSeparator))
        .map(p -> Path.of(p).toUri().toString()).collect(Collectors.joining(" ")));
    try (OutputStream out = Files.newOutputStream(home.resolve("lib/pgsidecar-agent.jar"))) {
      new JarOutputStream(out, m).close(); // the manifest is all
    }
    Files.writeString(home.resolve("lib/pgsidecar.aot"), "not copied");
    for (String launcher : List.of("pgsidecar", "pgsidecar-install-runtime")) {
      Path target = home.resolve("bin").resolve(launcher);
      Files.copy(repo.resolve("container/bin").resolve(launcher), target,
          StandardCopyOption.REPLACE_EXISTING);
      Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    // the launchers source their JVM flags from bin/lib, as scripts/image.sh lays it out
    Files.createDirectories(home.resolve("bin/lib"));
    Files.copy(repo.resolve("bin/lib/agent-jvm.sh"), home.resolve("bin/lib/agent-jvm.sh"),
        StandardCopyOption.REPLACE_EXISTING);
    return home;
  }

  record Result(int code, String out) {}

  private static Result run(List<String> cmd, Map<String, String> env) throws IOException,
      InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG")
        || k.startsWith("AZURE_"));
    pb.environment().putAll(env);
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError(cmd + " did not finish within 5 minutes");
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}
