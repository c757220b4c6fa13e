package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.TestTls;
import io.pgsidecar.protocol.AgentConnection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A pod whose storage identity comes from Azure, not from a key: a real PostgreSQL archiving
 * through the real wal-archiver into the agent (its own process), which reaches Azurite in OAuth
 * mode (HTTPS, bearer tokens) with {@code storage.azure.auth} = {@code auth} and nothing but the
 * environment {@code identity} (the AKS webhook's variables, or the IMDS override) to get its
 * tokens, trusting the test CA as a pod trusts a private one. {@link #restoreInit} runs the real
 * {@code bin/restore-init} launcher the way the pod's init container runs it, with the same
 * configuration file and identity.
 */
final class IdentityRig implements AutoCloseable {

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final String PREFIX = "identity";
  static final String CLUSTER = "db1";
  private static final ObjectMapper JSON = new ObjectMapper();

  final Path work;
  final Path socket;
  final Path adminSocket;
  final Path config;
  final Map<String, String> identity;
  final PostgresCluster pg;
  final AgentProcess agent;

  /**
   * @param azureYaml the keys under {@code storage.azure} beyond endpoint, account and
   *     container (auth, client-id), one per line, not indented
   */
  IdentityRig(Path work, Azurite azurite, String container, String azureYaml,
      Map<String, String> identity) throws Exception {
    this.work = Files.createDirectories(work);
    // the postgres user must traverse down to the hook socket
    for (Path p = this.work; p != null && p.startsWith(work.getParent()); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    this.identity = Map.copyOf(identity);
    this.socket = this.work.resolve("run/agent.sock");
    this.adminSocket = this.work.resolve("admin/admin.sock");
    this.pg = PostgresCluster.builder()
        .setting("archive_mode", "on")
        .setting("archive_command", Pod.walArchiver() + " --socket " + socket + " push %p")
        .setting("max_wal_size", "64MB")
        .setting("checkpoint_timeout", "30s")
        .setting("max_wal_senders", "4")
        .build();
    pg.start();
    this.config = Files.writeString(this.work.resolve("pgsidecar.yaml"), """
        cluster: %s
        pgdata: %s
        socket: %s
        http:
          admin-socket: %s
          socket-group: postgres
        postgres:
          host: 127.0.0.1
          port: %d
          user: postgres
          bin-dir: %s
        storage:
          type: azure
          prefix: %s
          timeout: 20s
          retries: 2
          azure:
            endpoint: %s
            account: %s
            container: %s
        %s
        wal:
          spool-dir: %s
        metrics:
          port: 0
        """.formatted(CLUSTER, pg.pgdata(), socket, adminSocket, pg.port(), pg.binDir(), PREFIX,
        azurite.endpoint(), azurite.account(), container,
        azureYaml.stripIndent().indent(4).stripTrailing(),
        this.work.resolve("spool")));
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
    this.agent = new AgentProcess(config, socket, this.work.resolve("agent.log"))
        .with(TestTls.get().jvmOptions(), identity);
    try {
      agent.start();
    } catch (Throwable e) {
      close();
      throw e;
    }
  }

  /** What the agent answered on its admin socket. */
  record Reply(int status, String body) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }
  }

  Reply http(String method, String path, String body) throws IOException {
    try (var r = AgentConnection.unixSocket(adminSocket).request(method, path,
        body == null ? Map.of() : Map.of("Content-Type", "application/json"),
        body == null ? null : body.getBytes(StandardCharsets.UTF_8))) {
      return new Reply(r.status(), r.bodyText(1 << 20));
    }
  }

  /** A base backup through the agent's API, waited for; returns its id. */
  String backup(String label) throws IOException {
    Reply r = http("POST", "/v1/backups?wait=true", "{\"label\":\"" + label + "\"}");
    assertEquals(200, r.status(), r.body() + "\n" + agent.logTail());
    return r.json().path("id").asText();
  }

  /** Closes the current segment and waits (up to 3 min) until PostgreSQL reports it archived. */
  String archiveCurrentSegment() {
    pg.sql("CREATE TABLE IF NOT EXISTS switch_marks (at timestamptz)");
    pg.sql("INSERT INTO switch_marks VALUES (clock_timestamp())");
    String seg = pg.switchWal();
    pg.awaitArchived(seg, Duration.ofSeconds(180));
    return seg;
  }

  /** What a launcher printed (stdout and stderr together) and its exit code. */
  record Run(int code, String output) {}

  /**
   * The real {@code bin/restore-init --config FILE} (the pod's init container command) with the
   * agent's configuration file, {@link #identity}, the test CA in {@code PGSIDECAR_JAVA_OPTS},
   * and {@code restoreEnv} (the {@code PGSIDECAR_RESTORE_*} and {@code PGSIDECAR_PGDATA} the
   * test asks for).
   */
  Run restoreInit(Map<String, String> restoreEnv) throws Exception {
    Path log = Files.createTempFile(work, "restore-init", ".log");
    ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("bin/restore-init").toString(),
        "--config", config.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG")
        || k.startsWith("AZURE_") || k.startsWith("IDENTITY_") || k.startsWith("MSI_"));
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().put("PGSIDECAR_JAVA_OPTS", String.join(" ", TestTls.get().jvmOptions()));
    pb.environment().putAll(identity);
    pb.environment().putAll(restoreEnv);
    Process p = pb.start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("bin/restore-init ran for 5 minutes:\n" + Files.readString(log));
    }
    return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }

  /** The restore environment for a target time, replaying through this pod's agent. */
  Map<String, String> restoreToTime(Path pgdata, String time) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PGSIDECAR_PGDATA", pgdata.toString());
    env.put("PGSIDECAR_RESTORE_ENABLED", "true");
    env.put("PGSIDECAR_RESTORE_TARGET_TIME", time);
    env.put("PGSIDECAR_RESTORE_WAL_ARCHIVER", Pod.walArchiverLauncher());
    env.put("PGSIDECAR_RESTORE_SOCKET", socket.toString());
    return env;
  }

  /** wal-archiver (the real launcher) as restore_command runs it, in {@code dir}. */
  Run walArchiver(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("bin/wal-archiver").toString(),
        "--socket", socket.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_"));
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().put("PGSIDECAR_WAL_ARCHIVER_CDS", "off");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(3, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", cmd) + " did not finish:\n" + out);
    }
    return new Run(p.exitValue(), out);
  }

  @Override
  public void close() {
    // PostgreSQL first, immediately: a fast shutdown would try to archive what is left
    try {
      pg.crash();
      pg.close();
    } finally {
      agent.close();
    }
  }
}
