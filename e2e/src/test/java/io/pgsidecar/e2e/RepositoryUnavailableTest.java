package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.fs.FsStorage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A filesystem repository that is not there must never read as "not in the archive": the real
 * agent (bin/pgsidecar, run as the postgres user) and the real wal-archiver fetch, as
 * restore_command runs them. A missing path, an empty mount point (what an unmounted volume
 * looks like), a path without this cluster's cluster.json, and a root-owned 0700 directory all
 * exit above 125, so PostgreSQL stops recovery instead of promoting on a partial history; a
 * segment that is really missing from this cluster's readable archive still exits 1.
 */
class RepositoryUnavailableTest {

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final String SEGMENT = "000000010000000000000003";

  @TempDir
  Path tmp;

  Process agent;
  Path work;

  @AfterEach
  void stopAgent() throws InterruptedException {
    if (agent != null) {
      agent.destroy();
      if (!agent.waitFor(30, TimeUnit.SECONDS)) {
        agent.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * One agent (its start is the slow part), the repository path changed under it between
   * fetches: the driver looks at the path on every call, nothing is cached.
   */
  @Test
  void onlyARepositoryThatIsThereAnswersNotFound() throws Exception {
    Path repo = Files.createDirectories(work().resolve("repo"));
    // the agent refuses to start without its repository (pgsidecar agent's start checks)
    startAgentOver(repo);

    // 1. the path goes missing under the running agent (a volume unmounted, a directory removed)
    Files.delete(repo);
    Result r = fetch();
    assertTrue(r.exit() > 125, "missing path: " + r.exit() + " " + r.stderr());
    assertTrue(agentLog().contains("storage path " + repo + " does not exist or is not a"
        + " directory"), agentLog());

    // 2. an empty mount point: what an unmounted volume looks like
    Files.createDirectories(repo);
    Files.setPosixFilePermissions(repo, PosixFilePermissions.fromString("rwxr-xr-x"));
    r = fetch();
    assertTrue(r.exit() > 125, "empty mount point: " + r.exit() + " " + r.stderr());
    String said = r.stderr() + agentLog();
    assertTrue(said.contains("storage unavailable: file://" + repo + " holds no"
        + " prod/db1/cluster.json, so it is not the archive of cluster db1 (asked for " + SEGMENT
        + ")"), said);

    // 3. another cluster's archive, or a wrong prefix: the path is there, this archive is not
    create(repo, "prod/db2/cluster.json");
    r = fetch();
    assertTrue(r.exit() > 125, "other cluster only: " + r.exit() + " " + r.stderr());

    // 4. this cluster's archive, readable, without the segment: the one real "not found"
    create(repo, "prod/db1/cluster.json");
    r = fetch();
    assertEquals(1, r.exit(), "segment missing from a readable archive: " + r.stderr());

    // 5. the same archive in a root-owned 0700 directory the postgres user cannot read
    Files.setPosixFilePermissions(repo, PosixFilePermissions.fromString("rwx------"));
    r = fetch();
    assertTrue(r.exit() > 125, "unreadable: " + r.exit() + " " + r.stderr());
    assertTrue(agentLog().contains("storage unavailable: storage path " + repo
        + " cannot be read by this process (user postgres)"), agentLog());
  }

  /**
   * Links planted inside the repository. Before the driver refused them, a repository whose
   * {@code prod/db1/wal} led to another archive served that archive's segment to this cluster's
   * recovery (exit 0: foreign WAL replayed), and a dangling link as the segment's object read as
   * "not in the archive" (exit 1: recovery ends early). Both now stop recovery (exit > 125) and
   * the agent's log names the link.
   */
  @Test
  void aLinkPlantedInTheRepositoryIsNeitherFollowedNorNotFound() throws Exception {
    Path repo = Files.createDirectories(work().resolve("repo"));
    create(repo, "prod/db1/cluster.json");
    // Another, valid archive of the same cluster name with the segment in it.
    Path elsewhere = Files.createDirectories(work.resolve("elsewhere"));
    create(elsewhere, "prod/db1/cluster.json");
    String key = "prod/db1/wal/0000000100000000/" + SEGMENT + ".zst";
    storeSegment(elsewhere, key);
    startAgentOver(repo);

    // 0. the control: this archive, without the segment, says "not found"
    Result r = fetch();
    assertEquals(1, r.exit(), "control: " + r.stderr());

    // 1. the cluster's wal directory is a link to the other archive's
    Path wal = repo.resolve("prod/db1/wal");
    Files.createSymbolicLink(wal, elsewhere.resolve("prod/db1/wal"));
    r = fetch();
    assertTrue(r.exit() > 125, "wal directory linked elsewhere: " + r.exit() + " " + r.stderr());
    assertFalse(Files.exists(work.resolve("pg_wal/RECOVERYXLOG")), "a foreign segment was served");
    assertTrue(agentLog().contains("unsafe repository: list of prod/db1/wal/0000000100000000/"
        + SEGMENT + " in " + repo + " refused: prod/db1/wal is a symbolic link (to "
        + elsewhere.resolve("prod/db1/wal") + ")"), agentLog());

    // 2. the segment's object is a dangling link
    Files.delete(wal);
    Path object = repo.resolve(key);
    Files.createDirectories(object.getParent());
    Files.createSymbolicLink(object, work.resolve("gone.zst"));
    r = fetch();
    assertTrue(r.exit() > 125, "dangling link as the object: " + r.exit() + " " + r.stderr());
    assertTrue(agentLog().contains("unsafe repository: list of prod/db1/wal/0000000100000000/"
        + SEGMENT + " in " + repo + " refused: " + key + " is a symbolic link (to "
        + work.resolve("gone.zst") + ")"), agentLog());
  }

  /** A valid zstd segment object of 16 MiB under {@code key}, as a push would store it. */
  private static void storeSegment(Path repo, String key) throws Exception {
    byte[] plain = new byte[16 << 20];
    new java.util.Random(3).nextBytes(plain);
    var pipeline = Pipelines.zstd(1);
    var encoded = new ByteArrayOutputStream();
    try (OutputStream out = pipeline.encode(encoded)) {
      out.write(plain);
    }
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(plain));
    new FsStorage(repo).create(key, new ByteArrayInputStream(encoded.toByteArray()),
        () -> new ObjectMetadata(sha, plain.length, pipeline.name(), ""));
  }

  record Result(int exit, String stderr) {}

  /** A directory the postgres user can traverse (JUnit's temp dir is root's 0700). */
  private Path work() throws IOException {
    if (work == null) {
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      work = Files.createDirectories(tmp.resolve("work"));
      Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
      chown(work);
    }
    return work;
  }

  private static void create(Path repo, String key) throws IOException {
    byte[] json = "{}".getBytes(StandardCharsets.UTF_8);
    new FsStorage(repo).create(key, new ByteArrayInputStream(json),
        () -> new ObjectMetadata("44136fa3", json.length, "", ""));
  }

  /** Starts the real agent as postgres over {@code repo}. */
  private void startAgentOver(Path repo) throws Exception {
    Path socket = work.resolve("agent.sock");
    Path pgdata = Files.createDirectories(work.resolve("pgdata"));
    Path spool = Files.createDirectories(work.resolve("spool"));
    for (Path p : List.of(pgdata, spool, Files.createDirectories(work.resolve("pg_wal")))) {
      chown(p);
    }
    int pgPort;
    try (ServerSocket s = new ServerSocket(0)) {
      pgPort = s.getLocalPort(); // nothing listens: fetch does not need PostgreSQL
    }
    Path yaml = Files.writeString(work.resolve("pgsidecar.yaml"), """
        cluster: db1
        pgdata: %s
        socket: %s
        http:
          admin-socket: %s
        postgres:
          host: 127.0.0.1
          port: %d
        storage:
          type: fs
          prefix: prod
          path: %s
        wal:
          spool-dir: %s
          prefetch-count: 0
        metrics:
          port: 0
        """.formatted(pgdata, socket, work.resolve("admin.sock"), pgPort, repo, spool));
    Files.setPosixFilePermissions(yaml, PosixFilePermissions.fromString("rw-r--r--"));
    ProcessBuilder pb = new ProcessBuilder(asPostgres(ROOT.resolve("bin/pgsidecar").toString(),
        "--config", yaml.toString(), "agent"))
        .redirectErrorStream(true).redirectOutput(work.resolve("agent.log").toFile())
        .directory(work.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG"));
    agent = pb.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (!Files.exists(socket)) {
      if (!agent.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("the agent did not open " + socket + ":\n" + agentLog());
      }
      Thread.sleep(50);
    }
  }

  /** wal-archiver fetch as restore_command runs it (as postgres, in pg_wal's place). */
  private Result fetch() throws Exception {
    Process fetch = new ProcessBuilder(asPostgres(ROOT.resolve("bin/wal-archiver").toString(),
        "--socket", work.resolve("agent.sock").toString(), "--wait", "5", "fetch", SEGMENT,
        "RECOVERYXLOG")).directory(work.resolve("pg_wal").toFile())
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    String err = new String(fetch.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(fetch.waitFor(120, TimeUnit.SECONDS), "wal-archiver fetch did not exit");
    return new Result(fetch.exitValue(), err);
  }

  private String agentLog() {
    try {
      return Files.readString(work.resolve("agent.log"));
    } catch (IOException e) {
      return "(no agent log: " + e + ")";
    }
  }

  private static List<String> asPostgres(String... command) {
    List<String> all = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
    all.addAll(List.of(command));
    return all;
  }

  private static void chown(Path p) throws IOException {
    Files.setOwner(p, p.getFileSystem().getUserPrincipalLookupService()
        .lookupPrincipalByName("postgres"));
  }
}
