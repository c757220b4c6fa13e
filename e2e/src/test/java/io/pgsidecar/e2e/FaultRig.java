package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.ListBlobsOptions;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.protocol.AgentConnection;
import io.pgsidecar.testkit.Waits;
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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fault suite's pod: a real PostgreSQL archiving through the real wal-archiver into the
 * agent, which runs as its own process ({@link AgentProcess}) and stores into Azurite (directly
 * or through a fault-injecting proxy), plus the verdict every fault test ends with: a restore
 * by the real {@code pgsidecar restore} into an empty directory, replayed by PostgreSQL to the
 * end of the archive, must hold every row whose commit was acknowledged, and no gap.
 * One rig per test class; each test writes its own table.
 */
final class FaultRig implements AutoCloseable {

  static final String PREFIX = "faults";
  static final String CLUSTER = "db1";
  private static final AtomicInteger CONTAINERS = new AtomicInteger();
  private static final ObjectMapper JSON = new ObjectMapper();

  final Path work;
  final Azurite azurite;
  final String container;
  final Path socket;
  final Path adminSocket;
  final Path walArchiver;
  final Path config;
  final PostgresCluster pg;
  final AgentProcess agent;
  final RepositoryLayout layout = new RepositoryLayout(PREFIX, CLUSTER);

  /** What an agent answered over its socket. */
  record Reply(int status, String body) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }
  }

  /**
   * @param endpoint the blob endpoint the agent uses: Azurite's, or a proxy's in front of it
   * @param extraYaml more configuration lines (top-level keys, YAML)
   */
  FaultRig(Path work, Azurite azurite, String endpoint, String extraYaml) throws Exception {
    this(work, azurite, endpoint, extraYaml, "10s", 2);
  }

  /** With {@code storage.timeout} and {@code storage.retries} of the test's choice. */
  FaultRig(Path work, Azurite azurite, String endpoint, String extraYaml, String timeout,
      int retries) throws Exception {
    this(work, azurite, endpoint, extraYaml, timeout, retries, 0);
  }

  /** With the agent's metrics.port (0: no metrics listener). */
  FaultRig(Path work, Azurite azurite, String endpoint, String extraYaml, String timeout,
      int retries, int metricsPort) throws Exception {
    this.work = Files.createDirectories(work);
    // the postgres user must traverse down to the socket (and wal-archiver's copy is elsewhere)
    for (Path p = this.work; p != null && p.startsWith(work.getParent()); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    this.azurite = azurite;
    this.container = azurite.createContainer("faults" + CONTAINERS.incrementAndGet());
    this.socket = this.work.resolve("run/agent.sock");
    this.adminSocket = this.work.resolve("admin/admin.sock");
    this.walArchiver = launcher(this.work.resolve("bin/wal-archiver"));
    this.pg = PostgresCluster.builder()
        .setting("archive_mode", "on")
        .setting("archive_command", walArchiver + " --socket " + socket + " push %p")
        .setting("max_wal_size", "64MB")
        .setting("checkpoint_timeout", "30s")
        .setting("max_wal_senders", "4")
        .build();
    pg.start();
    Path keyFile = azurite.writeKeyFile(this.work.resolve("account.key"));
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
          timeout: %s
          retries: %d
          azure:
            auth: shared-key
            endpoint: %s
            account: %s
            key-file: %s
            container: %s
            block-size: 1MiB
        wal:
          spool-dir: %s
        metrics:
          port: %d
        %s
        """.formatted(CLUSTER, pg.pgdata(), socket, adminSocket, pg.port(), pg.binDir(), PREFIX, timeout, retries, endpoint,
        azurite.account(), keyFile, container, this.work.resolve("spool"), metricsPort, extraYaml));
    this.agent = new AgentProcess(config, socket, this.work.resolve("agent.log")).start();
  }

  private final List<IdWriter> writers = new ArrayList<>();

  /** A writer on a new table; {@link #stopWriters()} stops it whatever the test's outcome. */
  IdWriter writer(String table) {
    IdWriter w = IdWriter.start(pg, table);
    writers.add(w);
    return w;
  }

  /** For {@code @AfterEach}: no writer outlives its test. */
  void stopWriters() throws InterruptedException {
    for (IdWriter w : writers) {
      w.stop();
    }
    writers.clear();
  }

  /**
   * wal-archiver as one executable path, as in a pod ({@code /pgsidecar/bin/wal-archiver}):
   * restore_command takes restore.wal-archiver as one shell-quoted word.
   */
  private static Path launcher(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, "#!/bin/sh\nexec " + Pod.walArchiver() + " \"$@\"\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }

  // ---- talking to the agent ----------------------------------------------------------------

  /** A request to the administration API (backups, dumps) on the admin socket. */
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
    // pg_switch_wal() closes nothing when nothing was written since the last switch, and the
    // name it then returns may be followed by a .backup file in pg_stat_archiver
    pg.sql("CREATE TABLE IF NOT EXISTS switch_marks (at timestamptz)");
    pg.sql("INSERT INTO switch_marks VALUES (clock_timestamp())");
    String seg = pg.switchWal();
    pg.awaitArchived(seg, Duration.ofSeconds(180));
    return seg;
  }

  /** Writes about {@code mb} MiB of WAL in one statement (several segments to push). */
  void writeWal(String table, int mb) {
    pg.sql("CREATE TABLE IF NOT EXISTS " + table + " (g int, t text)");
    pg.sql("INSERT INTO " + table + " SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, "
        + (mb * 5_000) + ") g");
  }

  // ---- looking at the repository -----------------------------------------------------------

  BlobContainerClient blobs() {
    return azurite.containerClient(container);
  }

  /** Names of the committed blobs under {@code prefix} (relative to the container). */
  List<String> blobNames(String prefix) {
    List<String> names = new ArrayList<>();
    for (BlobItem b : blobs().listBlobs(new ListBlobsOptions().setPrefix(prefix), null)) {
      names.add(b.getName());
    }
    return names;
  }

  /**
   * Every stored WAL file (segment, history, backup label) named without its codec suffix, once
   * per object: a name listed twice would be one WAL file stored under two codec suffixes.
   */
  List<String> walFiles() {
    List<String> files = new ArrayList<>();
    for (String key : blobNames(layout.walRoot())) {
      String file = key.substring(key.lastIndexOf('/') + 1);
      files.add(file.contains(".zst") ? file.substring(0, file.indexOf(".zst")) : file);
    }
    return files;
  }

  // ---- the verdict -------------------------------------------------------------------------

  /**
   * Stops the writers, archives the segment holding their last commits, restores the newest
   * backup (or {@code backupId}) with the real {@code pgsidecar restore} into an empty
   * directory, and checks what PostgreSQL replayed to the end of the archive
   * ({@link #assertRestored}).
   */
  void assertNothingLost(String backupId, boolean oneInDoubt, IdWriter... writers) throws Exception {
    Map<String, Long> acknowledged = settle(writers);
    Path target = PostgresCluster.emptyDataDirectory();
    List<String> args = new ArrayList<>(restoreArgs(target));
    if (backupId != null) {
      args.addAll(List.of("--backup", backupId));
    }
    Run run = cli(args.toArray(String[]::new));
    assertEquals(0, run.code(), run.output());
    assertRestored(target, acknowledged, oneInDoubt);
  }

  /** {@code restore --to TARGET} with the wal-archiver and socket the restored server uses. */
  List<String> restoreArgs(Path target) {
    return List.of("restore", "--to", target.toString(), "--wal-archiver", walArchiver.toString(),
        "--socket", socket.toString());
  }

  /** Stops the writers and archives the segment of their last commits: table -> last id. */
  Map<String, Long> settle(IdWriter... writers) throws InterruptedException {
    Map<String, Long> acknowledged = new LinkedHashMap<>();
    for (IdWriter w : writers) {
      acknowledged.put(w.table, w.stop());
      assertTrue(acknowledged.get(w.table) > 0, "the writer of " + w.table + " committed nothing");
    }
    archiveCurrentSegment();
    return acknowledged;
  }

  /**
   * Starts PostgreSQL on a restored {@code target} (deleted afterwards), waits until it has
   * replayed the archive and promoted, and checks that each table holds exactly ids 1..last
   * acknowledged (one more when a crash left a commit in doubt): nothing lost, no gap.
   */
  void assertRestored(Path target, Map<String, Long> acknowledged, boolean oneInDoubt) {
    try (PostgresCluster restored = PostgresCluster.fromExistingDataDir(target)
        .setting("archive_mode", "off").deleteDataDirOnClose().build()) {
      restored.start();
      restored.awaitEndOfRecovery(Duration.ofSeconds(180));
      for (var e : acknowledged.entrySet()) {
        String t = e.getKey();
        long last = e.getValue();
        long count = restored.sqlLong("SELECT count(*) FROM " + t);
        long max = restored.sqlLong("SELECT coalesce(max(id), 0) FROM " + t);
        long min = restored.sqlLong("SELECT coalesce(min(id), 0) FROM " + t);
        String what = t + ": " + count + " rows, ids " + min + ".." + max + ", last acknowledged "
            + last;
        assertEquals(1, min, what);
        assertEquals(count, max, "no gap in " + what);
        if (oneInDoubt) {
          assertTrue(count == last || count == last + 1, what);
        } else {
          assertEquals(last, count, what);
        }
      }
    }
  }

  /** What a CLI run printed (stdout and stderr together) and its exit code. */
  record Run(int code, String output) {}

  /** Runs {@code pgsidecar --config FILE ARGS...} to its end (at most 5 minutes). */
  Run cli(String... args) throws IOException, InterruptedException {
    Path log = Files.createTempFile(work, "cli", ".log");
    Process p = AgentProcess.cli(config, log, args).start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("pgsidecar " + String.join(" ", args) + " ran for 5 minutes");
    }
    return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }

  /** Starts {@code pgsidecar --config FILE ARGS...} and returns the process (output in {@code log}). */
  Process startCli(Path log, String... args) throws IOException {
    return AgentProcess.cli(config, log, args).start();
  }

  /** A condition a test waits for; may throw to give up early. */
  interface Check {
    boolean ok() throws Exception;
  }

  /** Polls {@code check} every 20 ms for up to 2 minutes; fails with the agent's and server's logs. */
  void await(String what, Check check) throws Exception {
    Waits.until(Duration.ofMinutes(2), Duration.ofMillis(20), check::ok,
        () -> "not within 2 minutes: " + what + "\n" + agent.logTail()
            + "\n--- postgres ---\n" + pg.logTail(30));
  }

  @Override
  public void close() {
    // PostgreSQL first, immediately: a fast shutdown would try to archive what is left, and
    // without an agent each attempt waits for it
    try {
      pg.crash();
      pg.close();
    } finally {
      agent.close();
    }
  }
}
