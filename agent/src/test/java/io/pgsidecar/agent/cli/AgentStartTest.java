package io.pgsidecar.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.support.FakePgdata;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Start-up says what is wrong before anything else runs, in one line naming the key: the real
 * agent ({@code pgsidecar agent}, a JVM of its own from a YAML file, as in a container) with a
 * filesystem repository that does not exist, and with its metrics port taken by another process.
 * Before: the first started and answered every backup with HTTP 500, the second died with a
 * {@code BindException} stack trace after its sockets already listened.
 */
class AgentStartTest {

  @TempDir Path work;

  @Test
  void aFilesystemRepositoryThatDoesNotExistStopsTheAgentWithOneLineNamingStoragePath()
      throws Exception {
    Path missing = work.resolve("no-such-repo");
    Started r = start(yaml(missing, 0));
    assertEquals(2, r.code(), r.stderr());
    assertEquals("pgsidecar agent: storage.path " + missing + " does not exist; create it (owned by"
        + " the agent's user) or set storage.path (PGSIDECAR_STORAGE_PATH) to the repository's"
        + " directory (a volume that is not mounted?)\n", r.stderr());
    assertFalse(Files.exists(work.resolve("run/agent.sock")), "nothing listens");
    assertFalse(Files.exists(missing), "the agent does not make it up");
  }

  @Test
  void aRepositoryPathThatIsAFileStopsTheAgentWithOneLine() throws Exception {
    Path file = Files.writeString(work.resolve("repo-file"), "x");
    Started r = start(yaml(file, 0));
    assertEquals(2, r.code(), r.stderr());
    assertEquals("pgsidecar agent: storage.path " + file + " is not a directory; create it (owned"
        + " by the agent's user) or set storage.path (PGSIDECAR_STORAGE_PATH) to the repository's"
        + " directory\n", r.stderr());
  }

  @Test
  void aMetricsPortTakenByAnotherProcessStopsTheAgentWithOneLineNamingMetricsPort()
      throws Exception {
    Path repo = Files.createDirectories(work.resolve("repo"));
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
      int port = taken.getLocalPort();
      Started r = start(yaml(repo, port));
      assertEquals(2, r.code(), r.stderr());
      assertEquals("pgsidecar agent: metrics.port " + port + " on 127.0.0.1 is taken (Address"
          + " already in use): another process, maybe a second agent, listens there; set"
          + " metrics.port (PGSIDECAR_METRICS_PORT) to a free port, or 0 to turn /metrics off\n",
          r.stderr());
      assertFalse(r.stderr().contains("BindException"), r.stderr());
      assertFalse(Files.exists(work.resolve("run/agent.sock")), "nothing listens");
    }
  }

  @Test
  void aBindFailureAfterTheCheckIsStillOneLineNamingTheKey() {
    var config = io.pgsidecar.agent.support.TestConfig.of(work.resolve("pgdata"), work);
    IOException failure = new IOException("cannot listen for /metrics on 127.0.0.1:9187: Address"
        + " already in use", new java.net.BindException("Address already in use"));
    assertEquals("metrics.port 0 on 127.0.0.1 is taken (Address already in use): another process,"
        + " maybe a second agent, listens there; set metrics.port (PGSIDECAR_METRICS_PORT) to a"
        + " free port, or 0 to turn /metrics off",
        StartChecks.bindProblem(config, failure).orElseThrow());
    assertTrue(StartChecks.bindProblem(config, new IOException("disk full")).isEmpty());
  }

  @Test
  void withLogFormatJsonEveryLineOfTheAgentsLogIsOneJsonEventWithStableFields() throws Exception {
    Path repo = Files.createDirectories(work.resolve("repo"));
    Path file = Files.writeString(work.resolve("pgsidecar.yaml"), yaml(repo, 0) + "log:\n  format: json\n");
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp",
        System.getProperty("java.class.path"), "io.pgsidecar.agent.cli.Main", "--config",
        file.toString(), "agent")
        .redirectOutput(work.resolve("agent.out").toFile())
        .redirectError(work.resolve("agent.err").toFile())
        .directory(Files.createDirectories(work.resolve("cwd")).toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG"));
    Process agent = pb.start();
    try {
      io.pgsidecar.testkit.Waits.until(java.time.Duration.ofSeconds(60),
          java.time.Duration.ofMillis(200), () -> !agent.isAlive()
              || Files.readString(work.resolve("agent.err")).contains("agent started for cluster"));
      assertTrue(agent.isAlive(), Files.readString(work.resolve("agent.err")));
      // archive_command's push of one segment: its event names the segment
      new FakePgdata(work.resolve("pgdata"), 7L).readyWal("000000010000000000000009", 4096, 9);
      var pushed = io.pgsidecar.agent.support.UnixHttp.post(work.resolve("run/agent.sock"),
          "/v1/wal/push", "{\"path\":\"pg_wal/000000010000000000000009\"}");
      assertEquals(200, pushed.status(), pushed.text());
      io.pgsidecar.testkit.Waits.until(java.time.Duration.ofSeconds(30),
          java.time.Duration.ofMillis(100), () -> Files.readString(work.resolve("agent.err"))
              .contains("\"segment\":\"000000010000000000000009\""));
    } finally {
      agent.destroy();
      assertTrue(agent.waitFor(60, TimeUnit.SECONDS));
    }
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    java.util.List<String> lines = Files.readAllLines(work.resolve("agent.err"));
    assertTrue(lines.size() >= 3, lines.toString());
    boolean started = false;
    boolean segment = false;
    for (String line : lines) {
      var n = json.readTree(line); // every line parses, or this throws naming it
      for (String field : java.util.List.of("time", "level", "logger", "message", "thread")) {
        assertTrue(n.hasNonNull(field), field + " missing: " + line);
      }
      java.time.Instant.parse(n.path("time").asText());
      started |= n.path("message").asText().startsWith("agent started for cluster db1")
          && n.path("logger").asText().equals(AgentCommand.class.getName())
          && n.path("level").asText().equals("INFO");
      segment |= "000000010000000000000009".equals(n.path("segment").asText());
    }
    assertTrue(started, String.join("\n", lines));
    assertTrue(segment, "an event names the refused segment: " + String.join("\n", lines));
  }

  @Test
  void jsonEventsNameTheSegmentAndTheJobAndCarryTheError() throws Exception {
    JsonLogFormat f = new JsonLogFormat();
    var r = new java.util.logging.LogRecord(java.util.logging.Level.WARNING,
        "base backup 20261205T120000Z failed while waiting for 000000010000000000000003");
    r.setLoggerName("io.pgsidecar.agent.backup.BackupRun");
    r.setThrown(new IOException("disk full"));
    String line = f.format(r);
    assertTrue(line.endsWith("\n") && line.indexOf('\n') == line.length() - 1, line);
    var n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
    assertEquals("WARNING", n.path("level").asText());
    assertEquals("io.pgsidecar.agent.backup.BackupRun", n.path("logger").asText());
    assertEquals("000000010000000000000003", n.path("segment").asText());
    assertEquals("20261205T120000Z", n.path("backup").asText());
    assertEquals("java.io.IOException: disk full", n.path("error").asText());
    assertTrue(n.path("stack").asText().contains("\tat "), line);
  }

  record Started(int code, String stderr) {}

  private String yaml(Path repo, int metricsPort) throws IOException {
    FakePgdata pg = new FakePgdata(work.resolve("pgdata"), 7L);
    return """
        cluster: db1
        pgdata: %s
        socket: %s
        http:
          admin-socket: %s
        postgres:
          host: 127.0.0.1
          port: 1
          user: postgres
          bin-dir: %s
        storage:
          type: fs
          prefix: prod
          path: %s
        wal:
          spool-dir: %s
        metrics:
          host: 127.0.0.1
          port: %d
        """.formatted(pg.root(), work.resolve("run/agent.sock"), work.resolve("admin.sock"),
        work.resolve("no-bin"), repo, work.resolve("spool"), metricsPort);
  }

  /** Runs {@code pgsidecar agent} until it exits (it must: each case is a refusal to start). */
  private Started start(String yaml) throws Exception {
    Path file = Files.writeString(work.resolve("pgsidecar.yaml"), yaml);
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp",
        System.getProperty("java.class.path"), "io.pgsidecar.agent.cli.Main", "--config",
        file.toString(), "agent")
        .redirectOutput(work.resolve("agent.out").toFile())
        .directory(Files.createDirectories(work.resolve("cwd")).toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG"));
    Process agent = pb.start();
    String stderr = new String(agent.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!agent.waitFor(60, TimeUnit.SECONDS)) {
      agent.destroyForcibly();
      throw new AssertionError("the agent did not stop:\n" + stderr);
    }
    return new Started(agent.exitValue(), stderr);
  }
}
