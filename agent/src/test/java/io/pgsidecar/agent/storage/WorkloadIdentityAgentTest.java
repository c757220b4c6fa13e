package io.pgsidecar.agent.storage;

import io.pgsidecar.testkit.Waits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.TestTls;
import io.pgsidecar.testkit.TokenIssuer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real agent ({@code pgsidecar agent} in a JVM of its own) with {@code auth:
 * workload-identity} and exactly the environment the AKS webhook gives a pod
 * ({@code AZURE_FEDERATED_TOKEN_FILE}, {@code AZURE_CLIENT_ID}, {@code AZURE_TENANT_ID},
 * {@code AZURE_AUTHORITY_HOST}) plus a trust store for the private CA of the test's TLS servers:
 * the real {@code bin/wal-archiver} pushes segments through it into Azurite in OAuth mode and
 * fetches them back byte for byte, while the access tokens live 5 s and are renewed.
 */
class WorkloadIdentityAgentTest {

  static final Path REPOSITORY = Path.of("..").toAbsolutePath().normalize();
  static final List<String> SEGMENTS = List.of("000000010000000000000001",
      "000000010000000000000002", "000000010000000000000003", "000000010000000000000004");

  static TokenIssuer issuer;
  static Azurite azurite;

  @TempDir Path work;
  Process agent;

  @BeforeAll
  static void start() throws Exception {
    issuer = TokenIssuer.start();
    azurite = Azurite.launchOAuth();
  }

  @AfterAll
  static void stop() {
    if (azurite != null) {
      azurite.close();
    }
    if (issuer != null) {
      issuer.close();
    }
  }

  @AfterEach
  void stopAgent() throws InterruptedException {
    issuer.tokenLifetime(Duration.ofHours(1));
    if (agent != null && agent.isAlive()) {
      agent.destroy();
      if (!agent.waitFor(30, TimeUnit.SECONDS)) {
        agent.destroyForcibly();
      }
    }
  }

  @Test
  void theRealAgentPushesAndFetchesWalWithTheWebhooksEnvironmentAndRenewsShortTokens()
      throws Exception {
    String container = azurite.createContainer("wiagent");
    issuer.tokenLifetime(Duration.ofSeconds(5));
    FakePgdata pg = new FakePgdata(work.resolve("pgdata"), 7L);
    Path hook = work.resolve("run/agent.sock");
    Path tokenFile = Files.writeString(work.resolve("azure-identity-token"),
        issuer.federatedToken());
    startAgent(pg.root(), hook, container, Map.of(
        "AZURE_FEDERATED_TOKEN_FILE", tokenFile.toString(),
        "AZURE_CLIENT_ID", TokenIssuer.CLIENT_ID,
        "AZURE_TENANT_ID", TokenIssuer.TENANT_ID,
        "AZURE_AUTHORITY_HOST", issuer.authorityHost()));
    int issuedAtStart = issuer.issued().size();

    List<byte[]> contents = new ArrayList<>();
    for (int i = 0; i < SEGMENTS.size(); i++) {
      String seg = SEGMENTS.get(i);
      contents.add(pg.readyWal(seg, 256 * 1024, i + 1));
      Result push = walArchiver(pg.root(), hook, "push", "pg_wal/" + seg);
      assertEquals(0, push.code(), push.out() + "\nagent log:\n" + log());
      if (i < SEGMENTS.size() - 1) {
        Thread.sleep(3000); // tokens of 5 s: the pushes span several of them
      }
    }
    List<String> stored = new ArrayList<>();
    azurite.containerClient(container).listBlobs().forEach(b -> stored.add(b.getName()));
    for (String seg : SEGMENTS) {
      assertTrue(stored.stream().anyMatch(n -> n.contains("/wal/" + seg.substring(0, 16) + "/"
          + seg)), seg + " stored: " + stored);
    }
    Path restoring = Files.createDirectories(work.resolve("restoring"));
    for (int i = 0; i < SEGMENTS.size(); i++) {
      Result fetched = walArchiver(restoring, hook, "fetch", SEGMENTS.get(i), "RECOVERYXLOG");
      assertEquals(0, fetched.code(), fetched.out() + "\nagent log:\n" + log());
      assertArrayEquals(contents.get(i), Files.readAllBytes(restoring.resolve("RECOVERYXLOG")),
          SEGMENTS.get(i));
    }
    assertTrue(issuer.issued().size() - issuedAtStart >= 2,
        "access tokens of 5 s were renewed over the pushes: " + issuer.issued());
    assertEquals(List.of(), issuer.refused());
    assertFalse(log().contains("was refused (") || log().contains("authentication with auth"),
        log());
  }

  @Test
  void anExpiredProjectedTokenMakesThePushFailWithTheVariableToCheckInTheAgentLog()
      throws Exception {
    String container = azurite.createContainer("wiexpired");
    FakePgdata pg = new FakePgdata(work.resolve("pgdata"), 7L);
    Path hook = work.resolve("run/agent.sock");
    Path tokenFile = Files.writeString(work.resolve("azure-identity-token"),
        issuer.federatedToken(java.time.Instant.now().minusSeconds(10),
            TokenIssuer.FEDERATED_AUDIENCE));
    startAgent(pg.root(), hook, container, Map.of(
        "AZURE_FEDERATED_TOKEN_FILE", tokenFile.toString(),
        "AZURE_CLIENT_ID", TokenIssuer.CLIENT_ID,
        "AZURE_TENANT_ID", TokenIssuer.TENANT_ID,
        "AZURE_AUTHORITY_HOST", issuer.authorityHost()));
    pg.readyWal(SEGMENTS.get(0), 64 * 1024, 1);
    long t0 = System.nanoTime();
    Result push = walArchiver(pg.root(), hook, "push", "pg_wal/" + SEGMENTS.get(0));
    System.out.printf("push with an expired projected token: exit %d after %d ms:%n%s%n",
        push.code(), (System.nanoTime() - t0) / 1_000_000, push.out());
    assertEquals(1, push.code(), push.out());
    String expected = "the federated token in AZURE_FEDERATED_TOKEN_FILE=" + tokenFile
        + " has expired";
    assertTrue(push.out().contains(expected) || log().contains(expected),
        push.out() + "\nagent log:\n" + log());
  }

  record Result(int code, String out) {}

  private String log() throws IOException {
    return Files.readString(work.resolve("agent.log"));
  }

  private Result walArchiver(Path dir, Path hook, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("env",
        "JAVA_HOME=" + System.getProperty("java.home"), "PGSIDECAR_WAL_ARCHIVER_CDS=off",
        "PGSIDECAR_SOCKET=" + hook, REPOSITORY.resolve("bin/wal-archiver").toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", cmd) + " did not finish:\n" + out);
    }
    return new Result(p.exitValue(), out);
  }

  private void startAgent(Path pgdata, Path hook, String container, Map<String, String> env)
      throws Exception {
    int metricsPort;
    try (ServerSocket s = new ServerSocket(0)) {
      metricsPort = s.getLocalPort();
    }
    Path admin = work.resolve("admin.sock");
    String yaml = """
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
          type: azure
          prefix: prod
          timeout: 20s
          retries: 1
          azure:
            auth: workload-identity
            endpoint: %s
            account: devstoreaccount1
            container: %s
        wal:
          spool-dir: %s
        metrics:
          host: 127.0.0.1
          port: %d
        """.formatted(pgdata, hook, admin, work.resolve("no-bin"), azurite.endpoint(), container,
        work.resolve("spool"), metricsPort);
    Path file = Files.writeString(work.resolve("pgsidecar.yaml"), yaml);
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-Xmx256m"));
    cmd.addAll(TestTls.get().jvmOptions());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
        "io.pgsidecar.agent.cli.Main", "--config", file.toString(), "agent"));
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectErrorStream(true).redirectOutput(work.resolve("agent.log").toFile())
        .directory(Files.createDirectories(work.resolve("cwd")).toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG")
        || k.startsWith("AZURE_") || k.startsWith("IDENTITY_"));
    pb.environment().putAll(env);
    agent = pb.start();
    try {
      Waits.until(Duration.ofSeconds(60), Duration.ofMillis(100), () -> answers(admin),
          "the agent exited", () -> !agent.isAlive());
    } catch (org.awaitility.core.ConditionTimeoutException
        | org.awaitility.core.TerminalFailureException e) {
      throw new AssertionError("the agent did not start within 60 s:\n" + log());
    }
  }

  private static boolean answers(Path socket) {
    try {
      return UnixHttp.get(socket, "/healthz").status() == 200;
    } catch (IOException notYet) {
      return false;
    }
  }
}
