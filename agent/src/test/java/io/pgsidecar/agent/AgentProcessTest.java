package io.pgsidecar.agent;

import java.time.Duration;
import io.pgsidecar.testkit.Waits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.UnixHttp;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real agent ({@code pgsidecar agent}, a JVM of its own started from a YAML file and an
 * environment, as in a container) and what it gives to others: the hook socket's group and mode
 * (an agent running as root lets {@code postgres} archive through the real {@code bin/wal-archiver}
 * but not reach the admin socket), a clear configuration error for a group that does not exist,
 * and an environment without the agent's secrets for the PostgreSQL programs it starts.
 */
class AgentProcessTest {

  static final boolean ROOT = "root".equals(System.getProperty("user.name"));
  /** Surefire runs in agent/: the launchers live at the repository root. */
  static final Path REPOSITORY = Path.of("..").toAbsolutePath().normalize();
  static final String SEG1 = "000000010000000000000001";
  static final String SEG2 = "000000010000000000000002";

  @TempDir Path work;
  Process agent;

  @AfterEach
  void stopAgent() throws InterruptedException {
    if (agent != null && agent.isAlive()) {
      agent.destroy();
      if (!agent.waitFor(30, TimeUnit.SECONDS)) {
        agent.destroyForcibly();
      }
    }
  }

  @Test
  void hookSocketTakesTheConfiguredGroupAndModeSoPostgresArchivesThroughTheRealLauncher()
      throws Exception {
    assumeTrue(ROOT, "runs the agent as root and wal-archiver as postgres");
    openToPostgres(work);
    FakePgdata pg = new FakePgdata(work.resolve("pgdata"), 7L);
    byte[] seg1 = pg.wal(SEG1, 4096, 1);
    pg.ready(SEG1);
    pg.wal(SEG2, 4096, 2);
    pg.ready(SEG2);
    Path hook = work.resolve("run/agent.sock");
    Path admin = work.resolve("admin/admin.sock");
    startAgent(config(pg.root(), hook, admin, "  socket-group: postgres\n  socket-mode: \"0660\"\n",
        work.resolve("no-bin")), Map.of());

    PosixFileAttributes h = Files.readAttributes(hook, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    assertEquals("root", h.owner().getName());
    assertEquals("postgres", h.group().getName());
    assertEquals("rw-rw----", PosixFilePermissions.toString(h.permissions()));
    PosixFileAttributes a = Files.readAttributes(admin, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    assertEquals("root", a.owner().getName());
    assertEquals("rw-------", PosixFilePermissions.toString(a.permissions()));

    // archive_command as PostgreSQL runs it: as postgres, in PGDATA; curl's path, then the JVM's
    Result curl = asPostgres(pg.root(), Map.of("PGSIDECAR_SOCKET", hook.toString()),
        REPOSITORY.resolve("bin/wal-archiver").toString(), "push", "pg_wal/" + SEG1);
    assertEquals(0, curl.code(), curl.out());
    Result jvm = asPostgres(pg.root(), Map.of("PGSIDECAR_SOCKET", hook.toString(),
            "PGSIDECAR_WAL_ARCHIVER_CURL", "off"),
        REPOSITORY.resolve("bin/wal-archiver").toString(), "push", "pg_wal/" + SEG2);
    assertEquals(0, jvm.code(), jvm.out());
    for (String seg : List.of(SEG1, SEG2)) {
      try (Stream<Path> stored = Files.list(work.resolve("repo/prod/db1/wal/" + seg.substring(0, 16)))) {
        assertTrue(stored.anyMatch(p -> p.getFileName().toString().startsWith(seg)), seg + " stored");
      }
    }
    // restore_command as PostgreSQL runs it: this cluster's WAL comes back; another cluster's
    // is refused (403), and wal-archiver exits 255 so recovery stops instead of ending early
    Path restoring = Files.createDirectories(work.resolve("restoring"));
    Files.setOwner(restoring, restoring.getFileSystem().getUserPrincipalLookupService()
        .lookupPrincipalByName("postgres"));
    Result fetched = asPostgres(restoring, Map.of("PGSIDECAR_SOCKET", hook.toString()),
        REPOSITORY.resolve("bin/wal-archiver").toString(), "fetch", SEG1, "RECOVERYXLOG");
    assertEquals(0, fetched.code(), fetched.out());
    assertArrayEquals(seg1, Files.readAllBytes(restoring.resolve("RECOVERYXLOG")));
    Result other = asPostgres(restoring, Map.of("PGSIDECAR_SOCKET", hook.toString()),
        REPOSITORY.resolve("bin/wal-archiver").toString(), "fetch", SEG1, "OTHERXLOG",
        "--cluster", "other");
    assertEquals(255, other.code(), other.out());
    assertTrue(other.out().contains("answered HTTP 403: WAL of cluster 'other' is not served on"
        + " the hook socket " + hook), other.out());
    assertFalse(Files.exists(restoring.resolve("OTHERXLOG")));

    // the admin socket stays the agent's user's: postgres cannot even connect (curl exit 7)
    Result refused = asPostgres(pg.root(), Map.of(), "curl", "-s", "--unix-socket", admin.toString(),
        "http://agent/v1/status");
    assertEquals(7, refused.code(), refused.out());
  }

  @Test
  void aSocketGroupThatDoesNotExistStopsTheAgentAtStartWithAConfigurationError() throws Exception {
    FakePgdata pg = new FakePgdata(work.resolve("pgdata"), 7L);
    Path hook = work.resolve("run/agent.sock");
    startAgent(config(pg.root(), hook, work.resolve("admin.sock"),
        "  socket-group: no-such-group-x\n", work.resolve("no-bin")), Map.of());
    assertTrue(agent.waitFor(60, TimeUnit.SECONDS), "the agent must stop");
    assertEquals(2, agent.exitValue());
    String log = Files.readString(work.resolve("agent.log"));
    assertTrue(log.contains("pgsidecar: invalid configuration (1 error; every key is listed in"
        + " docs/configuration.md):\n  - http.socket-group: there is no group 'no-such-group-x' on"
        + " this system (see /etc/group); set it to the group of PostgreSQL's user (e.g. postgres)"
        + " or its numeric id, or leave it unset to keep the agent's own group\n"), log);
    assertFalse(Files.exists(hook), "nothing listens");
  }

  @Test
  void programsTheAgentStartsDoNotInheritItsSecrets() throws Exception {
    FakePgdata pg = new FakePgdata(work.resolve("pgdata"), 7L);
    // PostgreSQL client programs that only write down the environment they were given
    Path bin = Files.createDirectories(work.resolve("pg-bin"));
    for (String program : List.of("psql", "pg_dump", "pg_dumpall", "pg_basebackup", "pg_restore")) {
      Path p = Files.writeString(bin.resolve(program), "#!/bin/sh\nenv > \"$(dirname \"$0\")/"
          + program + ".$$.env\"\necho \"" + program + ": fake, no server\" >&2\nexit 2\n");
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Path admin = work.resolve("admin.sock");
    Map<String, String> secrets = Map.of(
        "AZURE_CLIENT_SECRET", "azure-client-secret-1",
        "AWS_SECRET_ACCESS_KEY", "aws-secret-2",
        "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING", "AccountKey=connection-secret-3",
        "PGSIDECAR_POSTGRES_PASSWORD", "pg-password-4");
    startAgent(config(pg.root(), work.resolve("run/agent.sock"), admin, "", bin), secrets);

    assertEquals(500, UnixHttp.post(admin, "/v1/dumps?wait=true", "{}").status());
    UnixHttp.Response backup = UnixHttp.post(admin, "/v1/backups?wait=true", "{}");
    assertEquals(500, backup.status(), backup.text());

    List<Path> recorded;
    try (Stream<Path> files = Files.list(bin)) {
      recorded = files.filter(p -> p.toString().endsWith(".env")).sorted().toList();
    }
    assertEquals(2, recorded.size(), "psql of the dump, psql of the base backup: " + recorded);
    for (Path env : recorded) {
      Map<String, String> vars = parse(Files.readString(env));
      for (String secret : List.of("azure-client-secret-1", "aws-secret-2", "connection-secret-3")) {
        assertFalse(vars.containsValue(secret) || vars.values().stream().anyMatch(v -> v.contains(secret)),
            env.getFileName() + " holds a secret: " + vars.keySet());
      }
      assertFalse(vars.keySet().stream().anyMatch(k -> k.startsWith("PGSIDECAR_")), env + ": " + vars.keySet());
      assertFalse(vars.containsKey("AZURE_CLIENT_SECRET") || vars.containsKey("AWS_SECRET_ACCESS_KEY"));
      // what the program needs is there: PATH, and the connection the agent sets
      assertTrue(vars.containsKey("PATH"), env + ": " + vars.keySet());
      assertEquals("127.0.0.1", vars.get("PGHOST"));
      assertEquals("postgres", vars.get("PGUSER"));
      assertEquals("pg-password-4", vars.get("PGPASSWORD"), "the server's own password, as libpq expects it");
    }
  }

  record Result(int code, String out) {}

  private String config(Path pgdata, Path hook, Path admin, String httpExtra, Path binDir)
      throws IOException {
    int metricsPort;
    int pgPort;
    try (ServerSocket s = new ServerSocket(0); ServerSocket t = new ServerSocket(0)) {
      metricsPort = s.getLocalPort();
      pgPort = t.getLocalPort();
    }
    return """
        cluster: db1
        pgdata: %s
        socket: %s
        http:
          admin-socket: %s
        %spostgres:
          host: 127.0.0.1
          port: %d
          user: postgres
          bin-dir: %s
        storage:
          type: fs
          prefix: prod
          path: %s
          timeout: 10s
          retries: 1
        wal:
          spool-dir: %s
        metrics:
          host: 127.0.0.1
          port: %d
        """.formatted(pgdata, hook, admin, httpExtra, pgPort, binDir,
        Files.createDirectories(work.resolve("repo")), work.resolve("spool"), metricsPort);
  }

  /** Starts {@code pgsidecar agent}; returns once its admin socket answers, or it has exited. */
  private void startAgent(String yaml, Map<String, String> extraEnv) throws Exception {
    Path file = Files.writeString(work.resolve("pgsidecar.yaml"), yaml);
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        "io.pgsidecar.agent.cli.Main", "--config", file.toString(), "agent")
        .redirectErrorStream(true).redirectOutput(work.resolve("agent.log").toFile())
        .directory(Files.createDirectories(work.resolve("cwd")).toFile());
    // the agent refuses PGSIDECAR_* variables it does not know, and would take PG* as fallbacks
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG"));
    pb.environment().putAll(extraEnv);
    agent = pb.start();
    Path admin = Path.of(yaml.lines().filter(l -> l.startsWith("  admin-socket: ")).findFirst()
        .orElseThrow().substring("  admin-socket: ".length()));
    try {
      Waits.until(Duration.ofSeconds(60), Duration.ofMillis(100), () -> answers(admin),
          "the agent exited", () -> !agent.isAlive());
      return;
    } catch (org.awaitility.core.ConditionTimeoutException
        | org.awaitility.core.TerminalFailureException e) {
      // said below, with the agent's log
    }
    assertTrue(!agent.isAlive() || answers(admin), "the agent did not start within 60 s:\n"
        + Files.readString(work.resolve("agent.log")));
  }

  private static boolean answers(Path socket) {
    try {
      return UnixHttp.get(socket, "/healthz").status() == 200;
    } catch (IOException notYet) {
      return false;
    }
  }

  /** Runs a command as postgres with {@code runuser}, the way PostgreSQL runs archive_command. */
  private static Result asPostgres(Path dir, Map<String, String> env, String... command)
      throws Exception {
    List<String> cmd = new ArrayList<>(List.of("runuser", "-u", "postgres", "--", "env",
        "JAVA_HOME=" + System.getProperty("java.home"), "PGSIDECAR_WAL_ARCHIVER_CDS=off"));
    env.forEach((k, v) -> cmd.add(k + "=" + v));
    cmd.addAll(List.of(command));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", cmd) + " did not finish:\n" + out);
    }
    return new Result(p.exitValue(), out);
  }

  /** Lets postgres traverse from / down to {@code dir} (a JUnit temp dir is 0700). */
  private static void openToPostgres(Path dir) throws IOException {
    for (Path p = dir; p != null && p.getParent() != null; p = p.getParent()) {
      if (p.startsWith(Path.of(System.getProperty("java.io.tmpdir"))) && !p.equals(Path.of(System.getProperty("java.io.tmpdir")))) {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
    }
  }

  private static Map<String, String> parse(String env) {
    Map<String, String> vars = new HashMap<>();
    for (String line : env.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        vars.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return vars;
  }
}
