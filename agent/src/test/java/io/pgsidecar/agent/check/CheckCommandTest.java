package io.pgsidecar.agent.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.agent.support.ArchivingPod;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.testkit.Azurite;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgsidecar check} against a pod with nothing faked ({@link ArchivingPod}: PostgreSQL 15
 * archiving through bin/wal-archiver, the real agent, a filesystem repository or Azurite): every
 * check passes on a pod set up right, and each failure an operator meets prints its exact line
 * and exits with its code.
 */
class CheckCommandTest {

  private static final RepositoryLayout LAYOUT = new RepositoryLayout("prod", "db1");
  private static Azurite azurite;

  @TempDir Path work;

  @BeforeAll
  static void startAzurite() throws IOException {
    azurite = Azurite.launch();
  }

  @AfterAll
  static void stopAzurite() {
    if (azurite != null) {
      azurite.close();
    }
  }

  @Test
  void everyCheckPassesOnAFilesystemRepositoryAndTheProbeObjectIsGone() throws Exception {
    try (ArchivingPod pod = ArchivingPod.filesystem(work).start()) {
      ArchivingPod.Cli r = pod.cli("check", "--timeout", "120s");
      System.out.println(r.out());
      assertEquals(0, r.code(), r.out() + r.err());
      String id = pod.postgres().sql("SELECT system_identifier FROM pg_control_system()").strip();
      List<String> lines = r.out().lines().toList();
      assertEquals(9, lines.size(), r.out());
      assertEquals("OK    config           valid: cluster 'db1', file " + pod.yaml(), lines.get(0));
      assertEquals("OK    storage          wrote, read and deleted a probe object under prod/db1/ in"
          + " file://" + work.resolve("repo"), lines.get(1));
      assertEquals("OK    agent            the agent answers on " + work.resolve("admin.sock"),
          lines.get(2));
      assertEquals("OK    postgres         PostgreSQL " + pod.postgres().sql("SHOW server_version")
          .strip() + " at 127.0.0.1:" + pod.postgres().port() + " answers", lines.get(3));
      // the first push (of the check's own segment, or an earlier one) writes cluster.json
      assertTrue(lines.get(4).equals("OK    cluster          prod/db1/cluster.json does not exist"
          + " yet: the first archived segment writes it with this server's system identifier " + id)
          || lines.get(4).equals("OK    cluster          prod/db1/cluster.json matches this"
          + " server's system identifier " + id), lines.get(4));
      assertEquals("OK    archive-mode     archive_mode is on", lines.get(5));
      assertEquals("OK    archive-command  archive_command is 'PGSIDECAR_SOCKET="
          + work.resolve("run/agent.sock") + " " + ArchivingPod.REPOSITORY.resolve("bin/wal-archiver")
          + " push %p'", lines.get(6));
      Matcher arrived = Pattern.compile("OK    archiving        segment ([0-9A-F]{24})"
          + " \\(pg_switch_wal\\) arrived in file://" + Pattern.quote(work.resolve("repo").toString())
          + " after \\d+\\.\\d s").matcher(lines.get(7));
      assertTrue(arrived.matches(), lines.get(7));
      assertEquals("check passed: 8 checks, 0 skipped", lines.get(8));
      // the segment the check names is stored, and no probe object is left behind
      String segment = arrived.group(1);
      assertTrue(Files.exists(work.resolve("repo/prod/db1/wal/" + segment.substring(0, 16))),
          lines.get(7));
      try (Stream<Path> left = Files.walk(work.resolve("repo/prod/db1"))) {
        assertEquals(List.of(), left.filter(p -> p.toString().endsWith(".probe")).toList());
      }

      // the same as one JSON document
      ArchivingPod.Cli json = pod.cli("check", "--output", "json");
      assertEquals(0, json.code(), json.out() + json.err());
      JsonNode doc = new ObjectMapper().readTree(json.out());
      assertEquals("db1", doc.path("cluster").asText());
      assertTrue(doc.path("ok").asBoolean());
      assertEquals(0, doc.path("exitCode").asInt());
      assertEquals(8, doc.path("checks").size());
      assertEquals("cluster", doc.path("checks").get(4).path("name").asText());
      assertEquals("ok", doc.path("checks").get(4).path("result").asText());
      assertEquals("prod/db1/cluster.json matches this server's system identifier " + id,
          doc.path("checks").get(4).path("message").asText());
    }
  }

  @Test
  void everyCheckPassesOnAzuriteAndAStoppedAzuriteIsExit3NamingTheStorage() throws Exception {
    String container = "c" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (ArchivingPod pod = ArchivingPod.azure(work, azurite, container).start()) {
      ArchivingPod.Cli r = pod.cli("check", "--timeout", "120s");
      System.out.println(r.out());
      assertEquals(0, r.code(), r.out() + r.err());
      assertTrue(r.out().contains("OK    storage          wrote, read and deleted a probe object"
          + " under prod/db1/ in azure://devstoreaccount1/" + container + "\n"), r.out());
      assertTrue(r.out().endsWith("check passed: 8 checks, 0 skipped\n"), r.out());
      assertEquals(List.of(), azurite.containerClient(container).listBlobs().stream()
          .map(b -> b.getName()).filter(n -> n.endsWith(".probe")).toList());

      azurite.stop();
      try {
        ArchivingPod.Cli down = pod.cli("check", "--timeout", "5s");
        System.out.println(down.out());
        assertEquals(3, down.code(), down.out() + down.err());
        String storageLine = down.out().lines().filter(l -> l.startsWith("FAIL  storage"))
            .findFirst().orElseThrow(() -> new AssertionError(down.out()));
        assertTrue(storageLine.startsWith("FAIL  storage          storage azure://devstoreaccount1/"
            + container + " is not usable: "), storageLine);
        assertTrue(storageLine.contains("Connection refused"), storageLine);
        assertTrue(storageLine.contains("; check "), "says what to check: " + storageLine);
        assertTrue(down.out().contains("SKIP  cluster          needs storage\n"), down.out());
        assertTrue(down.out().contains("SKIP  archiving        needs storage, cluster\n"), down.out());
        assertTrue(down.out().endsWith("(exit 3)\n"), down.out());
      } finally {
        azurite.start();
      }
    }
  }

  @Test
  void anArchiveCommandThatDoesNotCallOurClientIsExit2WithTheSettingToWrite() throws Exception {
    try (ArchivingPod pod = ArchivingPod.filesystem(work).start()) {
      pod.set("archive_command", "cp %p /nowhere/%f");
      ArchivingPod.Cli r = pod.cli("check");
      System.out.println(r.out());
      assertEquals(2, r.code(), r.out() + r.err());
      assertTrue(r.out().contains("\nFAIL  archive-command  archive_command is 'cp %p /nowhere/%f',"
          + " which does not call the pgsidecar WAL client: set archive_command ="
          + " '/pgsidecar/bin/wal-archiver push %p' (the client's path on this server) in"
          + " postgresql.conf and reload PostgreSQL\n"
          + "SKIP  archiving        needs archive-command\n"
          + "check failed: 1 of 8 checks (exit 2)\n"), r.out());

      pod.set("archive_command", "");
      ArchivingPod.Cli unset = pod.cli("check");
      assertEquals(2, unset.code(), unset.out() + unset.err());
      assertTrue(unset.out().contains("\nFAIL  archive-command  archive_command is '', which does"
          + " not call the pgsidecar WAL client: "), unset.out());
    }
  }

  @Test
  void aClusterJsonOfAnotherServerIsExit7AndArchivingIsNotTried() throws Exception {
    try (ArchivingPod pod = ArchivingPod.filesystem(work)) {
      // another server archived here first
      Path clusterJson = Files.createDirectories(work.resolve("repo/prod/db1"))
          .resolve("cluster.json");
      Files.writeString(clusterJson, "{\"formatVersion\":1,\"systemIdentifier\":\"7000000000000000001\","
          + "\"pgMajorVersion\":15,\"cluster\":\"db1\"}");
      pod.start();
      String id = pod.postgres().sql("SELECT system_identifier FROM pg_control_system()").strip();
      ArchivingPod.Cli r = pod.cli("check");
      System.out.println(r.out());
      assertEquals(7, r.code(), r.out() + r.err());
      assertTrue(r.out().contains("\nFAIL  cluster          " + LAYOUT.clusterJson() + " in file://"
          + work.resolve("repo") + " belongs to the server with system identifier"
          + " 7000000000000000001, but 127.0.0.1:" + pod.postgres().port() + " has system"
          + " identifier " + id + "; the agent refuses to archive there: give this server its own"
          + " cluster name (cluster, PGSIDECAR_CLUSTER) or an empty storage.prefix\n"), r.out());
      assertTrue(r.out().contains("\nSKIP  archiving        needs cluster\n"), r.out());
      assertTrue(r.out().endsWith("check failed: 1 of 8 checks (exit 7)\n"), r.out());
    }
  }

  @Test
  void aStoppedServerAndAStoppedAgentAreExit3() throws Exception {
    try (ArchivingPod pod = ArchivingPod.filesystem(work).start()) {
      // the server first: stopping it needs the agent for its archiver's last round
      pod.postgres().stop();
      ArchivingPod.Cli noServer = pod.cli("check", "--timeout", "3s");
      System.out.println(noServer.out());
      assertEquals(3, noServer.code(), noServer.out() + noServer.err());
      String line = noServer.out().lines().filter(l -> l.startsWith("FAIL  postgres")).findFirst()
          .orElseThrow(() -> new AssertionError(noServer.out()));
      assertTrue(line.startsWith("FAIL  postgres         PostgreSQL at 127.0.0.1:"
          + pod.postgres().port() + " does not answer: psql failed (exit code 2) while querying"
          + " the server: "), line);
      assertTrue(line.endsWith("; check that it runs and postgres.host, postgres.port,"
          + " postgres.user and the password (postgres.password-file or"
          + " PGSIDECAR_POSTGRES_PASSWORD)"), line);
      assertTrue(noServer.out().contains("\nSKIP  archive-mode     needs postgres\n"), noServer.out());

      pod.stopAgent();
      ArchivingPod.Cli noAgent = pod.cli("check", "--timeout", "3s");
      System.out.println(noAgent.out());
      assertEquals(3, noAgent.code(), noAgent.out() + noAgent.err());
      assertTrue(noAgent.out().contains("\nFAIL  agent            the agent does not answer on "
          + work.resolve("admin.sock") + ": "), noAgent.out());
      assertTrue(noAgent.out().contains("; start it (pgsidecar agent) or check http.admin-socket"
          + " (PGSIDECAR_HTTP_ADMIN_SOCKET)\n"), noAgent.out());
      assertTrue(noAgent.out().endsWith("check failed: 2 of 8 checks (exit 3)\n"), noAgent.out());
    }
  }

  @Test
  void aBadConfigurationIsOneFailedLineAndExit2() {
    ArchivingPod.Cli r;
    try {
      Path yaml = Files.writeString(work.resolve("bad.yaml"), "cluster: db1\nstorage:\n  tpye: fs\n");
      java.io.StringWriter out = new java.io.StringWriter();
      int code = io.pgsidecar.agent.cli.Main.execute(new String[] {"--config", yaml.toString(),
          "check"}, java.util.Map.of(), new java.io.PrintWriter(out),
          new java.io.PrintWriter(new java.io.StringWriter()));
      r = new ArchivingPod.Cli(code, out.toString(), "");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    assertEquals(2, r.code(), r.out());
    List<String> lines = r.out().lines().toList();
    assertEquals(2, lines.size(), r.out());
    assertTrue(lines.get(0).startsWith("FAIL  config           invalid configuration ("), lines.get(0));
    assertTrue(lines.get(0).contains("storage.tpye"), lines.get(0));
    assertEquals("check failed: 1 of 1 checks (exit 2)", lines.get(1));
  }

  @Test
  void aRepositoryThatIsNotThereFailsTheStorageLineAndNothingIsCreated() throws Exception {
    Path missing = work.resolve("no-repo");
    Path yaml = Files.writeString(work.resolve("p.yaml"), """
        cluster: db1
        pgdata: %s
        socket: %s
        postgres:
          host: 127.0.0.1
          port: 1
          bin-dir: %s
        storage:
          type: fs
          prefix: prod
          path: %s
        """.formatted(work.resolve("pgdata"), work.resolve("agent.sock"),
        io.pgsidecar.testkit.PostgresCluster.defaultBinDir(), missing));
    java.io.StringWriter out = new java.io.StringWriter();
    int code = io.pgsidecar.agent.cli.Main.execute(new String[] {"--config", yaml.toString(),
        "check", "--timeout", "1s"}, java.util.Map.of(), new java.io.PrintWriter(out),
        new java.io.PrintWriter(new java.io.StringWriter()));
    System.out.println(out);
    assertEquals(3, code, out.toString());
    String storageLine = out.toString().lines().filter(l -> l.startsWith("FAIL  storage")).findFirst()
        .orElseThrow(() -> new AssertionError(out.toString()));
    assertTrue(storageLine.startsWith("FAIL  storage          storage file://" + missing
        + " is not usable: "), storageLine);
    assertTrue(storageLine.contains(missing.toString()), storageLine);
    assertTrue(out.toString().contains("\nFAIL  agent "), out.toString());
    assertTrue(out.toString().contains("\nFAIL  postgres "), out.toString());
    assertTrue(out.toString().endsWith("check failed: 3 of 8 checks (exit 3)\n"), out.toString());
    assertTrue(!Files.exists(missing), "the check does not make the repository up");
  }

  @Test
  void ourClientIsRecognisedWhereverItIsInstalled() {
    for (String c : List.of("/pgsidecar/bin/wal-archiver push %p",
        "PGSIDECAR_SOCKET=/run/a.sock '/opt/my dir/bin/wal-archiver' push %p",
        "wal-archiver --socket /x push %p",
        "/usr/bin/java -cp x io.pgsidecar.walarchiver.WalArchiver --socket s push \"%p\"")) {
      assertTrue(CheckService.callsOurClient(c), c);
    }
    for (String c : List.of("", "cp %p /archive/%f", "/pgsidecar/bin/wal-archiver fetch %f %p",
        "pgbackrest archive-push %p", "/pgsidecar/bin/wal-archiver-old push %p")) {
      assertTrue(!CheckService.callsOurClient(c), c);
    }
  }
}
