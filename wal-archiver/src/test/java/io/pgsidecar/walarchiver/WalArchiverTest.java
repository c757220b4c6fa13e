package io.pgsidecar.walarchiver;

import io.pgsidecar.protocol.FakeAgent;
import io.pgsidecar.protocol.WalName;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WalArchiverTest {
  static final String SEGMENT = "000000010000000000000003";

  @TempDir Path dir;
  FakeAgent agent;
  final Map<String, String> env = new HashMap<>();

  record Run(int exit, String stderr, long millis) {}

  Run run(String... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    env.putIfAbsent("PGSIDECAR_SOCKET", socket().toString());
    env.putIfAbsent("PGSIDECAR_WAIT", "2");
    long t0 = System.nanoTime();
    int code = WalArchiver.run(args, env, dir, new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(code, err.toString(StandardCharsets.UTF_8), (System.nanoTime() - t0) / 1_000_000);
  }

  Path socket() {
    return dir.resolve("agent.sock");
  }

  void agent(FakeAgent.Handler h) throws IOException {
    agent = FakeAgent.onSocket(socket(), h);
  }

  @AfterEach
  void stopAgent() throws IOException {
    if (agent != null) {
      agent.close();
    }
  }

  static byte[] segmentBytes(int size) {
    byte[] b = new byte[size];
    new Random(42).nextBytes(b);
    return b;
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  // ---- push --------------------------------------------------------------------------------

  @Test
  void pushSendsThePathRelativeToPgdataAndExitsZeroWhenArchived() throws Exception {
    agent((r, out) -> FakeAgent.json(out, 200, "{\"status\":\"archived\"}"));
    Run run = run("push", "pg_wal/" + SEGMENT);
    assertEquals(0, run.exit(), run.stderr());
    assertEquals("", run.stderr());
    FakeAgent.Request req = agent.requests().get(0);
    assertEquals("POST", req.method());
    assertEquals("/v1/wal/push", req.target());
    assertEquals("application/json", req.headers().get("content-type"));
    assertEquals("{\"path\":\"pg_wal/" + SEGMENT + "\",\"cluster\":null}", req.bodyText());
  }

  @Test
  void pushOfAConflictingSegmentExitsOneWithTheAgentsMessage() throws Exception {
    String body = "{\"error\":\"segment " + SEGMENT + " is already archived with another"
        + " content\",\"archivedSha256\":\"ab12\",\"localSha256\":\"cd34\"}";
    agent((r, out) -> FakeAgent.json(out, 409, body));
    Run run = run("push", "pg_wal/" + SEGMENT);
    assertEquals(1, run.exit());
    assertEquals("wal-archiver: push of pg_wal/" + SEGMENT + " failed: the agent at " + socket()
        + " answered HTTP 409: segment " + SEGMENT + " is already archived with another content "
        + body + " (PostgreSQL will retry the segment)\n", run.stderr());
  }

  @Test
  void pushThatFailsInTheAgentExitsOneAtOnce() throws Exception {
    agent((r, out) -> FakeAgent.respond(out, 500, Map.of(), "storage unreachable".getBytes()));
    Run run = run("push", "pg_wal/" + SEGMENT);
    assertEquals(1, run.exit());
    assertTrue(run.stderr().contains("answered HTTP 500: storage unreachable"), run.stderr());
    assertEquals(1, agent.requests().size(), "PostgreSQL retries a push, wal-archiver does not");
  }

  @Test
  void pushWithoutAnAgentWaitsThenExitsOne() {
    env.put("PGSIDECAR_WAIT", "1");
    Run run = run("push", "pg_wal/" + SEGMENT);
    assertEquals(1, run.exit());
    assertTrue(run.millis() >= 1000 && run.millis() < 5000, "waited " + run.millis() + " ms");
    assertTrue(run.stderr().startsWith("wal-archiver: push of pg_wal/" + SEGMENT
        + " failed: cannot connect to the agent at " + socket()), run.stderr());
  }

  @Test
  void pushOfAHistoryFileAndAClusterName() throws Exception {
    agent((r, out) -> FakeAgent.json(out, 200, "{}"));
    assertEquals(0, run("--cluster", "db-1", "push", "pg_wal/00000002.history").exit());
    assertEquals("{\"path\":\"pg_wal/00000002.history\",\"cluster\":\"db-1\"}",
        agent.requests().get(0).bodyText());
  }

  // ---- fetch -------------------------------------------------------------------------------

  @Test
  void fetchWritesTheFileByteIdenticalAndLeavesNoTempFile() throws Exception {
    byte[] wal = segmentBytes(1 << 20);
    String sha = sha256(wal);
    agent((r, out) -> FakeAgent.respond(out, 200, Map.of("X-Pgsidecar-Sha256", sha), wal));
    Files.createDirectory(dir.resolve("pg_wal"));
    Run run = run("fetch", SEGMENT, "pg_wal/RECOVERYXLOG");
    assertEquals(0, run.exit(), run.stderr());
    assertArrayEquals(wal, Files.readAllBytes(dir.resolve("pg_wal/RECOVERYXLOG")));
    try (var files = Files.list(dir.resolve("pg_wal"))) {
      assertEquals(List.of("RECOVERYXLOG"), files.map(p -> p.getFileName().toString()).toList());
    }
    assertEquals("GET", agent.requests().get(0).method());
    assertEquals("/v1/wal/" + SEGMENT, agent.requests().get(0).target());
  }

  @Test
  void fetchReplacesAnOldFileAndAcceptsAChunkedBody() throws Exception {
    byte[] wal = segmentBytes(300_000);
    agent((r, out) -> FakeAgent.chunked(out, wal, 65_000));
    Files.write(dir.resolve("RECOVERYXLOG"), "old".getBytes());
    Run run = run("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(0, run.exit(), run.stderr());
    assertArrayEquals(wal, Files.readAllBytes(dir.resolve("RECOVERYXLOG")));
  }

  @Test
  void fetchOfAFileNotInTheArchiveExitsOne() throws Exception {
    agent((r, out) -> FakeAgent.missing(out, "00000003.history", "{\"error\":\"no such WAL file\"}"));
    Run run = run("fetch", "00000003.history", "pg_wal/RECOVERYHISTORY");
    assertEquals(1, run.exit());
    assertEquals("wal-archiver: fetch: 00000003.history is not in the archive (no such WAL"
        + " file)\n", run.stderr());
    assertFalse(Files.exists(dir.resolve("pg_wal/RECOVERYHISTORY")));
  }

  @Test
  void notInTheArchiveExitsWithTheLaunchersCodeWhenItAsksForOne() throws Exception {
    agent((r, out) -> FakeAgent.missing(out, SEGMENT, "{\"error\":\"no such WAL file\"}"));
    env.put(WalArchiver.NOT_FOUND_ENV, "100");
    assertEquals(100, run("fetch", SEGMENT, "RECOVERYXLOG").exit());
    env.put(WalArchiver.NOT_FOUND_ENV, "junk");
    assertEquals(1, run("fetch", SEGMENT, "RECOVERYXLOG").exit());
  }

  @Test
  void a404ThatDoesNotNameTheFileIsNotNotFoundAndExits255() throws Exception {
    // a wrong route or port (the metrics listener, a proxy) answers 404 for everything
    agent((r, out) -> FakeAgent.json(out, 404, "{\"error\":\"no route\"}"));
    Run plain = run("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(255, plain.exit(), plain.stderr());
    assertTrue(plain.stderr().contains("answered HTTP 404: no route (a 404 without"
        + " x-pgsidecar-missing: " + SEGMENT + " is not the agent saying the archive lacks the"
        + " file; check --socket / --url point at the agent's API)"), plain.stderr());
    agent.close();
    agent((r, out) -> FakeAgent.missing(out, "000000010000000000000099", "{}"));
    assertEquals(255, run("fetch", SEGMENT, "RECOVERYXLOG").exit());
  }

  @Test
  void fetchAgainstStorageThatIsDownExits255() throws Exception {
    agent((r, out) -> FakeAgent.json(out, 503, "{\"error\":\"storage unavailable\"}"));
    env.put("PGSIDECAR_WAIT", "1");
    Run run = run("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(255, run.exit(), run.stderr());
    assertTrue(run.stderr().contains("answered HTTP 503: storage unavailable"), run.stderr());
  }

  @Test
  void fetchWithoutAnAgentWaitsThenExits255() {
    env.put("PGSIDECAR_WAIT", "1");
    Run run = run("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(255, run.exit());
    assertTrue(run.millis() >= 1000 && run.millis() < 5000, "waited " + run.millis() + " ms");
    assertTrue(run.stderr().contains("cannot connect to the agent at " + socket()), run.stderr());
    assertTrue(run.stderr().contains("(waited 1 s; is the pgsidecar agent running?"), run.stderr());
    assertTrue(run.stderr().endsWith("exiting 255 so that PostgreSQL stops recovery rather than"
        + " end it at the wrong point (fix the agent or its storage, then start PostgreSQL"
        + " again)\n"), run.stderr());
  }

  @Test
  void fetchWaitsForAnAgentThatStartsLate() throws Exception {
    byte[] wal = segmentBytes(1000);
    Thread late = Thread.ofVirtual().start(() -> {
      try {
        Thread.sleep(400);
        agent((r, out) -> FakeAgent.respond(out, 200, Map.of(), wal));
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    Run run = run("--wait", "10", "fetch", SEGMENT, "RECOVERYXLOG");
    late.join();
    assertEquals(0, run.exit(), run.stderr());
    assertTrue(run.millis() >= 400, run.millis() + " ms");
    assertArrayEquals(wal, Files.readAllBytes(dir.resolve("RECOVERYXLOG")));
  }

  @Test
  void fetchOfATruncatedBodyRenamesNothingAndExits255() throws Exception {
    byte[] wal = segmentBytes(100_000);
    agent((r, out) -> FakeAgent.truncated(out, wal, 60_000));
    Run run = run("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(255, run.exit());
    assertTrue(run.stderr().contains("the agent's response ended 40000 bytes before its"
        + " Content-Length"), run.stderr());
    assertEquals(WalFetch.ATTEMPTS, agent.requests().size());
    try (var files = Files.list(dir)) {
      assertEquals(List.of("agent.sock"), files.map(p -> p.getFileName().toString()).toList());
    }
  }

  @Test
  void fetchWithAWrongChecksumRenamesNothingAndExits255() throws Exception {
    byte[] wal = segmentBytes(5000);
    String wrong = sha256("something else".getBytes());
    agent((r, out) -> FakeAgent.respond(out, 200, Map.of("X-Pgsidecar-Sha256", wrong), wal));
    Run run = run("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(255, run.exit());
    assertTrue(run.stderr().contains("SHA-256 of the received 5000 bytes is " + sha256(wal)
        + ", the agent announced " + wrong), run.stderr());
    assertFalse(Files.exists(dir.resolve("RECOVERYXLOG")));
  }

  @Test
  void fetchFromAnAgentThatVerifiedTheChecksumDoesNotHashTheSegmentAgain() throws Exception {
    byte[] wal = segmentBytes(5000);
    String wrong = sha256("something else".getBytes());
    agent((r, out) -> FakeAgent.respond(out, 200,
        Map.of("X-Pgsidecar-Sha256", wrong, "X-Pgsidecar-Verified", "sha256"), wal));
    Run run = run("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(0, run.exit(), run.stderr());
    assertArrayEquals(wal, Files.readAllBytes(dir.resolve("RECOVERYXLOG")));
  }

  @Test
  void fetchRetriesAServerErrorThenSucceeds() throws Exception {
    byte[] wal = segmentBytes(2000);
    AtomicInteger calls = new AtomicInteger();
    agent((r, out) -> {
      if (calls.incrementAndGet() == 1) {
        FakeAgent.json(out, 500, "{\"message\":\"storage timeout\"}");
      } else {
        FakeAgent.respond(out, 200, Map.of(), wal);
      }
    });
    Run run = run("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(0, run.exit(), run.stderr());
    assertEquals(2, agent.requests().size());
  }

  @Test
  void fetchGivesUpAfterRepeatedServerErrors() throws Exception {
    agent((r, out) -> FakeAgent.json(out, 502, "{\"message\":\"storage timeout\"}"));
    Run run = run("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(255, run.exit());
    assertEquals(WalFetch.ATTEMPTS, agent.requests().size());
    assertTrue(run.stderr().contains("answered HTTP 502: storage timeout;"), run.stderr());
  }

  @Test
  void fetchWaitsWhileTheAgentAnswers503() throws Exception {
    byte[] wal = segmentBytes(10);
    AtomicInteger calls = new AtomicInteger();
    agent((r, out) -> {
      if (calls.incrementAndGet() <= 3) {
        FakeAgent.json(out, 503, "{\"message\":\"starting\"}");
      } else {
        FakeAgent.respond(out, 200, Map.of(), wal);
      }
    });
    assertEquals(0, run("fetch", SEGMENT, "RECOVERYXLOG").exit());
    assertEquals(4, agent.requests().size());
  }

  @Test
  void fetchFromAnotherClustersArchiveAsksWithItsName() throws Exception {
    agent((r, out) -> FakeAgent.respond(out, 200, Map.of(), new byte[] {1}));
    assertEquals(0, run("fetch", "--cluster", "old db", SEGMENT, "RECOVERYXLOG").exit());
    assertEquals("/v1/wal/" + SEGMENT + "?cluster=old+db", agent.requests().get(0).target());
  }

  @Test
  void theTcpListenerGetsTheBearerToken() throws Exception {
    try (FakeAgent tcp = FakeAgent.onTcp((r, out) -> FakeAgent.json(out, 200, "{}"))) {
      env.put("PGSIDECAR_TOKEN", "s3cret");
      Run run = run("--url", tcp.url(), "push", "pg_wal/" + SEGMENT);
      assertEquals(0, run.exit(), run.stderr());
      assertEquals("Bearer s3cret", tcp.requests().get(0).headers().get("authorization"));
    }
  }

  // ---- arguments ---------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"RECOVERYXLOG", "00000001000000000000000", "0000000100000000000000gg",
      "000000010000000000000003.partiall", "0000000G.history", "x/../000000010000000000000003.x",
      "000000010000000000000003.0000002.backup", "000000010000000000000003-00000028.backup", "",
      "000000000000000000000003", "00000000.history", "000000000000000000000003.partial"})
  void badNamesFailAFetchWith255AndAPushWith1WithoutAskingTheAgent(String name) throws Exception {
    agent((r, out) -> FakeAgent.json(out, 200, "{}"));
    Run fetch = run("fetch", name, "RECOVERYXLOG");
    assertEquals(255, fetch.exit());
    assertTrue(fetch.stderr().startsWith("wal-archiver: fetch: " + name
        + " is not a WAL file name"), fetch.stderr());
    assertEquals(1, run("push", "pg_wal/" + name).exit());
    assertEquals(List.of(), agent.requests());
  }

  @ParameterizedTest
  @ValueSource(strings = {SEGMENT, "00000002.history", SEGMENT + ".partial",
      SEGMENT + ".00000028.backup", "FFFFFFFFFFFFFFFFFFFFFFFF"})
  void everyKindOfWalFileNameIsAccepted(String name) {
    assertTrue(WalName.isValid(name), name);
  }

  @Test
  void usageAndConfigErrorsOfAFetchExit255AndOfAPush1() {
    // restore_command written without %p: PostgreSQL must stop, not take it as "not found"
    Run noPath = run("fetch", SEGMENT);
    assertEquals(255, noPath.exit());
    assertTrue(noPath.stderr().startsWith("wal-archiver: fetch takes 2 arguments, got 1 (exit 255)\n"),
        noPath.stderr());
    assertEquals(255, run("fetch").exit());
    assertEquals(255, run("--wait", "soon", "fetch", SEGMENT, "RECOVERYXLOG").exit());
    assertEquals(255, run("--sokcet", "/x", "fetch", SEGMENT, "RECOVERYXLOG").exit());
    assertEquals(255, run("--url", "https://127.0.0.1:1", "fetch", SEGMENT, "RECOVERYXLOG").exit());
    assertEquals(255, run().exit());
    assertEquals(255, run("archive", "x").exit());

    assertEquals(1, run("push").exit());
    assertEquals(1, run("--wait", "soon", "push", "pg_wal/" + SEGMENT).exit());
    Run unknown = run("--sokcet", "/x", "push", "pg_wal/" + SEGMENT);
    assertEquals(1, unknown.exit());
    assertTrue(unknown.stderr().startsWith("wal-archiver: unknown option --sokcet (exit 1)\nusage:"),
        unknown.stderr());
    assertEquals(1, run("--url", "https://127.0.0.1:1", "push", "pg_wal/" + SEGMENT).exit());
    assertEquals(0, run("--help").exit());
  }

  @Test
  void anUncaughtErrorInAFetchExits255NotOne() throws Exception {
    // "/" as %p has no parent directory for the temp file: an unchecked exception in the
    // program, which the JVM alone would turn into exit 1 ("not in the archive")
    agent((r, out) -> FakeAgent.respond(out, 200, Map.of(), new byte[] {1, 2}));
    Path classes = Path.of(WalArchiver.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", classes.toString(), WalArchiver.class.getName(), "--socket", socket().toString(),
        "fetch", SEGMENT, "/").redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(255, p.exitValue(), err);
    assertTrue(err.startsWith("wal-archiver: unexpected error, exiting 255: java.lang."), err);
  }
}
