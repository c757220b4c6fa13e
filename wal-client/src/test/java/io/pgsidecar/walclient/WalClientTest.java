package io.pgsidecar.walclient;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.WalLikeData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The static WAL client (target/pgsidecar-wal) as PostgreSQL runs it: against the real agent
 * (in this JVM, file-system storage, zstd), against a scripted agent for the answers a real one
 * gives only under faults (5xx, a body cut short, a wrong checksum, a hand-off), and as the
 * archive_command and restore_command of a real PostgreSQL. Each case asserts the exit code
 * PostgreSQL reads, the message, and the bytes of what lands at %p.
 */
class WalClientTest {

  private static final String SEG1 = "000000010000000000000001";
  private static final String SEG2 = "000000010000000000000002";
  private static Path client;

  private Path work;
  private Agent agent;

  /** A copy of the binary in a directory whose name has a space and a quote, readable by all. */
  @BeforeAll
  static void copyClient() throws IOException {
    Path built = Path.of(System.getProperty("pgsidecar.walClient", "target/pgsidecar-wal"));
    assertTrue(Files.isExecutable(built), "build the client first: " + built);
    Path dir = Files.createTempDirectory("pgsidecar-wal-client-");
    Path bin = Files.createDirectories(dir.resolve("bin dir 'q'"));
    for (Path p : List.of(dir, bin)) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    client = bin.resolve("wal-archiver");
    Files.copy(built, client);
    Files.setPosixFilePermissions(client, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @BeforeEach
  void workDir() throws IOException {
    work = Files.createTempDirectory("pgsidecar-wal-client-test-");
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (agent != null) {
      agent.close();
    }
    try (var files = Files.walk(work)) {
      files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
    }
  }

  // ---- against the real agent ---------------------------------------------------------------

  @Test
  void pushAndFetchThroughTheRealAgentExitAsPostgresExpectsAndKeepTheBytes() throws Exception {
    Path pgdata = Files.createDirectories(work.resolve("pg data 'quoted'"));
    Path socket = work.resolve("run dir/agent.sock");
    FsStorage storage = new FsStorage(Files.createDirectories(work.resolve("repo")));
    startAgent(pgdata, socket, storage);
    byte[] seg = WalLikeData.bytes(16 * 1024 * 1024, 7);
    Files.createDirectories(pgdata.resolve("pg_wal"));
    fakeDataDirectory(pgdata);
    Files.write(pgdata.resolve("pg_wal").resolve(SEG1), seg);
    ready(pgdata, SEG1); // PostgreSQL marks a segment ready before archive_command

    Map<String, String> env = Map.of("PGSIDECAR_SOCKET", socket.toString(), "PGSIDECAR_WAIT", "2");
    Run push = run(env, pgdata, "push", "pg_wal/" + SEG1);
    assertEquals(0, push.code, push.err);
    assertTrue(storage.stat(new RepositoryLayout("wc", "db1").walKey(SEG1, ".zst")).isPresent());
    // a second push of the same segment is answered "already archived": still 0
    assertEquals(0, run(env, pgdata, "push", "pg_wal/" + SEG1).code);

    Path restoreDir = Files.createDirectories(work.resolve("restore dir \"with\" 'quotes' & spaces"));
    Path dest = restoreDir.resolve("RECOVERYXLOG");
    Run fetch = run(env, restoreDir, "--socket", socket.toString(), "fetch", SEG1, dest.toString());
    assertEquals(0, fetch.code, fetch.err);
    assertArrayEquals(seg, Files.readAllBytes(dest));
    assertEquals(List.of(dest), list(restoreDir), "no temp file left beside %p");
    // relative %p, as PostgreSQL passes it (restore_command runs in PGDATA)
    Run relative = run(env, restoreDir, "fetch", SEG1, "pg_wal_copy");
    assertEquals(0, relative.code, relative.err);
    assertArrayEquals(seg, Files.readAllBytes(restoreDir.resolve("pg_wal_copy")));

    Run missing = run(env, restoreDir, "fetch", SEG2, "RECOVERYXLOG2");
    assertEquals(1, missing.code, missing.err);
    assertTrue(missing.err.startsWith("wal-archiver: fetch: " + SEG2 + " is not in the archive ("),
        missing.err);
    assertFalse(Files.exists(restoreDir.resolve("RECOVERYXLOG2")));

    Run pushMissingFile = run(env, pgdata, "push", "pg_wal/" + SEG2);
    assertEquals(1, pushMissingFile.code, pushMissingFile.err);
    assertTrue(pushMissingFile.err.startsWith("wal-archiver: push of pg_wal/" + SEG2
        + " failed: the agent at " + socket + " answered HTTP "), pushMissingFile.err);
    assertTrue(pushMissingFile.err.contains("(PostgreSQL will retry the segment)"), pushMissingFile.err);

    Run wrongCluster = run(env, pgdata, "--cluster", "other", "push", "pg_wal/" + SEG1);
    assertEquals(1, wrongCluster.code, wrongCluster.err);
    assertTrue(wrongCluster.err.contains("answered HTTP 400: {\"error\":\"this agent archives only"
        + " into cluster 'db1', not 'other'"), wrongCluster.err);
  }

  @Test
  void namesAndArgumentsPostgresNeverPassesAreRefusedBeforeAskingTheAgent() throws Exception {
    Map<String, String> env = Map.of("PGSIDECAR_SOCKET", work.resolve("none.sock").toString());
    for (String bad : List.of("000000000000000000000001", "00000001000000000000000a",
        "00000001000000000000001", "RECOVERYXLOG", "00000000.history", "00000001.History",
        SEG1 + ".partia", SEG1 + ".0000002g.backup")) {
      Run fetch = run(env, work, "fetch", bad, "x");
      assertEquals(255, fetch.code, bad + ": " + fetch.err);
      assertTrue(fetch.err.startsWith("wal-archiver: fetch: " + bad + " is not a WAL file name"),
          fetch.err);
      Run push = run(env, work, "push", "pg_wal/" + bad);
      assertEquals(1, push.code, bad + ": " + push.err);
    }
    assertEquals(255, run(env, work, "fetch", "../" + SEG1, "x").code);
    assertEquals(255, run(env, work, "fetch", SEG1).code);
    assertEquals(255, run(env, work, "fetch", SEG1, "x", "--wait", "soon").code);
    assertEquals(255, run(env, work, "fetch", SEG1, "x", "--bogus").code);
    assertEquals(1, run(env, work, "push").code);
    assertEquals(255, run(env, work, "pull", SEG1).code);
    for (String good : List.of(SEG1, "0000000A.history", SEG1 + ".partial",
        SEG1 + ".00000028.backup", "FFFFFFFF00000000000000FF")) {
      // valid names reach the (absent) agent: a push then fails with 1, not 2
      Run push = run(Map.of("PGSIDECAR_SOCKET", work.resolve("none.sock").toString(),
          "PGSIDECAR_WAIT", "0"), work, "push", "pg_wal/" + good);
      assertEquals(1, push.code, good + ": " + push.err);
    }
  }

  @Test
  void anAgentThatIsNotThereIsWaitedForThenFetchExits255AndPushExits1() throws Exception {
    Path socket = work.resolve("run/agent.sock");
    Map<String, String> env = Map.of("PGSIDECAR_SOCKET", socket.toString(), "PGSIDECAR_WAIT", "1");
    long t0 = System.nanoTime();
    Run fetch = run(env, work, "fetch", SEG1, work.resolve("x").toString());
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertEquals(255, fetch.code, fetch.err);
    assertTrue(waited >= 1000, "waited only " + waited + " ms");
    assertTrue(fetch.err.startsWith("wal-archiver: fetch of " + SEG1 + " into " + work.resolve("x")
        + " failed: cannot connect to the agent at " + socket + ": No such file or directory"
        + " (waited 1 s; is the pgsidecar agent running?"), fetch.err);
    assertTrue(fetch.err.contains("exiting 255 so that PostgreSQL stops recovery"), fetch.err);
    Run push = run(env, work, "push", "pg_wal/" + SEG1);
    assertEquals(1, push.code, push.err);
    assertTrue(push.err.contains("cannot connect to the agent at " + socket), push.err);

    // an agent that comes up while the client waits is used
    Path pgdata = Files.createDirectories(work.resolve("pgdata/pg_wal")).getParent();
    fakeDataDirectory(pgdata);
    byte[] seg = WalLikeData.bytes(1024 * 1024, 3);
    Files.write(pgdata.resolve("pg_wal").resolve(SEG1), seg);
    ready(pgdata, SEG1); // PostgreSQL marks a segment ready before archive_command
    ProcessBuilder late = command(Map.of("PGSIDECAR_SOCKET", socket.toString(), "PGSIDECAR_WAIT",
        "60"), pgdata, "push", "pg_wal/" + SEG1);
    Process p = late.start();
    Thread.sleep(300); // the client must be waiting before the agent exists
    startAgent(pgdata, socket, new FsStorage(Files.createDirectories(work.resolve("repo"))));
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  // ---- against a scripted agent: the answers of faults ---------------------------------------

  @Test
  void answersOtherThan200Or404NeverLeaveAFileAndExit255() throws Exception {
    byte[] body = WalLikeData.bytes(300_000, 5);
    String sha = sha256(body);
    Path dest = work.resolve("RECOVERYXLOG");
    record Case(String what, List<String> answers, String message, int requests) {}
    String ok = head(200, "Content-Length: " + body.length, "X-Pgsidecar-Sha256: " + sha,
        "X-Pgsidecar-Verified: sha256");
    List<Case> cases = List.of(
        new Case("500 three times", List.of(error(500, "storage down"), error(500, "storage down"),
            error(500, "storage down")), "answered HTTP 500: {\"error\":\"storage down\"}", 3),
        new Case("401", List.of(error(401, "no token")), "answered HTTP 401", 1),
        new Case("body cut short, three times", List.of(ok + "CUT", ok + "CUT", ok + "CUT"),
            "the agent's answer ended ", 3),
        new Case("wrong checksum, three times", List.of(
            head(200, "Content-Length: " + body.length, "X-Pgsidecar-Sha256: " + "0".repeat(64)) + "BODY",
            head(200, "Content-Length: " + body.length, "X-Pgsidecar-Sha256: " + "0".repeat(64)) + "BODY",
            head(200, "Content-Length: " + body.length, "X-Pgsidecar-Sha256: " + "0".repeat(64)) + "BODY"),
            "SHA-256 of the received 300000 bytes is " + sha + ", the agent announced 000", 3),
        new Case("garbage", List.of("SSH-2.0-OpenSSH\r\n", "SSH-2.0-OpenSSH\r\n", "SSH-2.0-OpenSSH\r\n"),
            "malformed status line: SSH-2.0-OpenSSH", 3),
        new Case("503 until --wait runs out", List.of(error(503, "starting")),
            "answered HTTP 503", -1));
    for (Case c : cases) {
      Path socket = work.resolve("scripted-" + Math.abs(c.what.hashCode()) + ".sock");
      try (ScriptedAgent fake = new ScriptedAgent(socket, c.answers, body)) {
        Run r = run(Map.of("PGSIDECAR_SOCKET", socket.toString(), "PGSIDECAR_WAIT", "1"), work,
            "fetch", SEG1, dest.toString());
        assertEquals(255, r.code, c.what + ": " + r.err);
        assertTrue(r.err.contains(c.message), c.what + ": " + r.err);
        if (c.requests > 0) {
          assertEquals(c.requests, fake.requests().size(), c.what);
        }
        assertEquals(List.of(), list(work).stream().filter(p -> !p.toString().endsWith(".sock")).toList(),
            c.what + ": nothing at %p, no temp file");
      }
    }
  }

  @Test
  void aScriptedAgentsHandOffAndChunkedAnswersAreTakenAndA404IsNotFound() throws Exception {
    byte[] body = WalLikeData.bytes(1_000_000, 9);
    String sha = sha256(body);
    Path spool = Files.write(Files.createDirectories(work.resolve("spool")).resolve(SEG1), body);
    Path socket = work.resolve("a.sock");
    Path dest = work.resolve("dest dir 'x'/RECOVERYXLOG");
    Files.createDirectories(dest.getParent());
    Files.writeString(dest, "an older file PostgreSQL left"); // replaced, as with ln -f

    String handOff = head(200, "Content-Length: 0", "X-Pgsidecar-Handoff: " + spool,
        "X-Pgsidecar-Sha256: " + sha, "X-Pgsidecar-Size: " + body.length,
        "X-Pgsidecar-Verified: sha256");
    try (ScriptedAgent fake = new ScriptedAgent(socket, List.of(handOff), body)) {
      Run r = run(Map.of("PGSIDECAR_SOCKET", socket.toString()), work, "fetch", SEG1, dest.toString());
      assertEquals(0, r.code, r.err);
      assertArrayEquals(body, Files.readAllBytes(dest));
      assertEquals(Files.getAttribute(spool, "unix:ino"), Files.getAttribute(dest, "unix:ino"),
          "hard-linked, not copied");
      assertTrue(fake.requests().get(0).contains("X-Pgsidecar-Handoff: link\r\n"), fake.requests().get(0));
    }
    Files.delete(dest);
    // a hand-off that cannot be linked from here (gone, another file system): the bytes are asked for
    String badHandOff = head(200, "Content-Length: 0", "X-Pgsidecar-Handoff: /nonexistent/" + SEG1,
        "X-Pgsidecar-Sha256: " + sha, "X-Pgsidecar-Verified: sha256");
    String chunked = head(200, "Transfer-Encoding: chunked", "X-Pgsidecar-Sha256: " + sha) + "CHUNKED";
    try (ScriptedAgent fake = new ScriptedAgent(socket, List.of(badHandOff, chunked), body)) {
      Run r = run(Map.of("PGSIDECAR_SOCKET", socket.toString()), work, "fetch", SEG1, dest.toString());
      assertEquals(0, r.code, r.err);
      assertArrayEquals(body, Files.readAllBytes(dest));
      assertEquals(2, fake.requests().size());
      assertFalse(fake.requests().get(1).contains("X-Pgsidecar-Handoff: link"), fake.requests().get(1));
    }
    // a 404 that does not name the file (a wrong route, a proxy) is not "not in the archive"
    for (String head : List.of("Content-Type: application/json", "X-Pgsidecar-Missing: " + SEG1)) {
      String json = "{\"error\":\"no such route\"}";
      try (ScriptedAgent fake = new ScriptedAgent(socket,
          List.of(head(404, head, "Content-Length: " + json.length()) + json), body)) {
        Run r = run(Map.of("PGSIDECAR_SOCKET", socket.toString(), "PGSIDECAR_WAIT", "1"), work,
            "fetch", SEG2, dest.toString());
        assertEquals(255, r.code, r.err);
      }
    }
    String missing = "{\"error\":\"WAL file " + SEG2 + " is not in the archive prefix/db1/wal/\"}";
    try (ScriptedAgent fake = new ScriptedAgent(socket, List.of(head(404, "Content-Type: application/json",
        "X-Pgsidecar-Missing: " + SEG2, "Content-Length: " + missing.length()) + missing), body)) {
      Run r = run(Map.of("PGSIDECAR_SOCKET", socket.toString()), work, "--cluster", "old db/1",
          "fetch", SEG2, dest.toString());
      assertEquals(1, r.code, r.err);
      assertEquals("wal-archiver: fetch: " + SEG2 + " is not in the archive of cluster old db/1"
          + " ({\"error\":\"WAL file " + SEG2 + " is not in the archive prefix/db1/wal/\"})\n", r.err);
      assertTrue(fake.requests().get(0).startsWith("GET /v1/wal/" + SEG2 + "?cluster=old+db%2F1 HTTP/1.1\r\n"),
          fake.requests().get(0));
    }
  }

  /** What the chart's init container runs: the binary, under this name, copies only itself. */
  @Test
  void pgsidecarInstallClientCopiesTheClientIntoDirBin() throws Exception {
    Path link = work.resolve("pgsidecar-install-client");
    Files.createSymbolicLink(link, client);
    Path target = work.resolve("empty dir 'x'");
    Process p = new ProcessBuilder(link.toString(), target.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    assertEquals("installed " + target.resolve("bin/wal-archiver") + "\n", out);
    assertArrayEquals(Files.readAllBytes(client), Files.readAllBytes(target.resolve("bin/wal-archiver")));
    assertTrue(Files.isExecutable(target.resolve("bin/wal-archiver")));
    assertEquals(List.of(target.resolve("bin/wal-archiver")), list(target.resolve("bin")), "no temp file left");
    Process bad = new ProcessBuilder(link.toString()).redirectErrorStream(true).start();
    String usage = new String(bad.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(bad.waitFor(30, TimeUnit.SECONDS));
    assertEquals(2, bad.exitValue());
    assertTrue(usage.contains("usage: pgsidecar-install-client DIR"), usage);
  }

  // ---- as PostgreSQL's archive_command and restore_command --------------------------------------

  @Test
  void postgresArchivesAndRestoresThroughTheClient() throws Exception {
    Path pgdata = work.resolve("pgdata");
    Path socket = work.resolve("run 'dir'/agent.sock");
    FsStorage storage = new FsStorage(Files.createDirectories(work.resolve("repo")));
    String archive = shellQuote(client) + " --socket " + shellQuote(socket) + " push %p";
    try (PostgresCluster pg = PostgresCluster.builder().dataDir(pgdata)
        .setting("archive_mode", "on").setting("archive_command", archive)
        .setting("max_wal_size", "64MB").build()) {
      pg.start();
      startAgent(pgdata, socket, storage);
      Files.setOwner(socket, socket.getFileSystem().getUserPrincipalLookupService()
          .lookupPrincipalByName("postgres"));
      Path backup = Files.createDirectory(work.resolve("base"));
      Files.setOwner(backup, backup.getFileSystem().getUserPrincipalLookupService()
          .lookupPrincipalByName("postgres"));
      pg.runAsPostgres(List.of(pg.bin("pg_basebackup"), "-D", backup.toString(), "-X", "none",
          "-c", "fast")).orThrow();
      pg.sql("CREATE TABLE t (id int PRIMARY KEY, note text)");
      pg.sql("INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g");
      String last = pg.switchWal();
      pg.awaitArchived(last, Duration.ofSeconds(60));
      byte[] original = Files.readAllBytes(pgdata.resolve("pg_wal").resolve(last));
      pg.stop();

      Path restoreDir = Files.createDirectories(work.resolve("restore 'x'"));
      Path copy = restoreDir.resolve("seg");
      Run fetch = run(Map.of("PGSIDECAR_SOCKET", socket.toString()), restoreDir, "fetch", last,
          copy.toString());
      assertEquals(0, fetch.code, fetch.err);
      assertArrayEquals(original, Files.readAllBytes(copy), "the archived segment, byte for byte");

      Files.writeString(backup.resolve("recovery.signal"), "");
      Files.writeString(backup.resolve("postgresql.auto.conf"), "restore_command = '"
          + (shellQuote(client) + " --socket " + shellQuote(socket) + " fetch %f %p").replace("'", "''")
          + "'\narchive_mode = 'off'\n", java.nio.file.StandardOpenOption.APPEND);
      try (PostgresCluster restored = PostgresCluster.fromExistingDataDir(backup).build()) {
        restored.start();
        restored.awaitEndOfRecovery(Duration.ofSeconds(120));
        assertEquals(20000, restored.sqlLong("SELECT count(*) FROM t"));
        assertTrue(Files.readString(restored.logFile()).contains("restored log file \"" + last
            + "\" from archive"), restored.logTail(40));
      }
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  private void startAgent(Path pgdata, Path socket, FsStorage storage) throws IOException {
    CodecPipeline pipeline = Pipelines.zstd(1);
    PgsidecarConfig config = new PgsidecarConfig("db1", pgdata, socket,
        new PgsidecarConfig.Http(Optional.empty(), Optional.empty(), Duration.ofSeconds(5)),
        new PgsidecarConfig.Postgres("127.0.0.1", 5432, "postgres", "postgres", Optional.empty(),
            PostgresCluster.defaultBinDir()),
        new PgsidecarConfig.StorageConfig(PgsidecarConfig.StorageType.FS, "wc",
            Optional.of(work.resolve("unused")), null, Duration.ofSeconds(30), 2),
        new PgsidecarConfig.Compression("zstd", 1, 0),
        new PgsidecarConfig.Encryption(List.of(), Optional.empty(), List.of(), Optional.empty()),
        new PgsidecarConfig.Wal(2, 8, 3, work.resolve("spool"), 256L * 1024 * 1024),
        new PgsidecarConfig.Backup(Duration.ofMinutes(2), Duration.ofSeconds(10)),
        new PgsidecarConfig.Dump(List.of(), List.of(), false),
        new PgsidecarConfig.Metrics(0, "127.0.0.1"),
        new PgsidecarConfig.Schedule(Optional.empty(), Optional.empty(), ZoneOffset.UTC));
    agent = new Agent(config, storage, pipeline);
    agent.start();
  }

  /** Just what the agent reads of a server in PGDATA: its identity (pg_control, PG_VERSION). */
  private static void fakeDataDirectory(Path pgdata) throws IOException {
    byte[] control = new byte[8192];
    control[0] = 42;
    Files.write(Files.createDirectories(pgdata.resolve("global")).resolve("pg_control"), control);
    Files.writeString(pgdata.resolve("PG_VERSION"), "15\n");
  }

  private record Run(int code, String err) {}

  private static ProcessBuilder command(Map<String, String> env, Path cwd, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(client.toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_"));
    pb.environment().putAll(env);
    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    return pb;
  }

  private static Run run(Map<String, String> env, Path cwd, String... args) throws Exception {
    Process p = command(env, cwd, args).start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the client did not end");
    return new Run(p.exitValue(), err);
  }

  private static List<Path> list(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      return s.sorted().toList();
    }
  }

  /** Double quotes: a single-quote escape would need a backslash, which postgresql.conf eats. */
  private static String shellQuote(Path p) {
    return "\"" + p.toString().replaceAll("([\"$`\\\\])", "\\\\$1") + "\"";
  }

  static String head(int status, String... headers) {
    StringBuilder sb = new StringBuilder("HTTP/1.1 " + status + " X\r\n");
    for (String h : headers) {
      sb.append(h).append("\r\n");
    }
    return sb.append("\r\n").toString();
  }

  static String error(int status, String message) {
    String json = "{\"error\":\"" + message + "\"}";
    return head(status, "Content-Type: application/json", "Content-Length: " + json.length()) + json;
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  static void ready(Path pgdata, String name) throws Exception {
    Path status = Files.createDirectories(pgdata.resolve("pg_wal/archive_status"));
    Files.writeString(status.resolve(name + ".ready"), "");
  }
}
