package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.S3Server;
import io.pgsidecar.testkit.Waits;
import io.pgsidecar.protocol.AgentConnection;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's memory while it uploads to S3, as it runs in the pod: the real {@code bin/pgsidecar}
 * with its launcher's flags ({@code -Xmx80m}, serial GC, {@code MaxRAM=512m}), the default
 * {@code storage.s3.part-size} (8 MiB) and {@code concurrency} (4), against S3Mock. A real
 * PostgreSQL writes about 64 MiB of random (incompressible) rows: every WAL segment is pushed
 * through the real wal-archiver and stored as a multipart upload, and the base backup after it
 * is stored in many parts. Every segment fetched back through the agent has the SHA-256 of the
 * file PostgreSQL wrote, and the backup, restored with {@code pgsidecar restore} and replayed
 * through the agent, holds the same rows. The agent's peak RSS (VmHWM) must stay within the
 * chart's budget of 256 MiB, as in {@link PodDrillTest}.
 */
class S3UploadMemoryTest {

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final long RSS_BUDGET_KIB = 256 * 1024;
  static final long PART = 8L << 20;
  /** MiB of random rows; -Dpgsidecar.s3Memory.mib=256 for a longer run by hand. */
  static final int MIB = Integer.getInteger("pgsidecar.s3Memory.mib", 64);
  static final String CHECKSUM = "SELECT count(*) || ':' || md5(string_agg(md5(b), ',' ORDER BY id))"
      + " FROM noise";

  @TempDir Path tmp;
  Process agent;

  @AfterEach
  void stopAgent() throws InterruptedException {
    if (agent != null) {
      agent.destroy();
      if (!agent.waitFor(30, TimeUnit.SECONDS)) {
        agent.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void theAgentWithItsProductionHeapUploadsWalAndABaseBackupInPartsWithinTheRssBudget()
      throws Exception {
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path work = Files.createDirectories(tmp.resolve("pod"));
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path socket = work.resolve("run/agent.sock");
    Path admin = work.resolve("admin/admin.sock");
    Map<String, Long> rss = new LinkedHashMap<>();
    try (S3Server s3 = S3Server.s3Mock();
        PostgresCluster pg = PostgresCluster.builder()
            .setting("archive_mode", "on")
            // archiving starts once the backlog is written (below)
            .setting("archive_command", "false")
            // no checkpoint recycles a segment before the test has read it
            .setting("max_wal_size", "4GB")
            .setting("checkpoint_timeout", "1h")
            .setting("max_wal_senders", "4")
            .build().start()) {
      Path config = writeConfig(work, s3, pg, socket, admin);
      startAgent(work, config);

      // ---- WAL: random rows, every segment pushed through wal-archiver ----
      pg.sql("CREATE EXTENSION IF NOT EXISTS pgcrypto");
      pg.sql("CREATE TABLE noise (id int PRIMARY KEY, b bytea)");
      pg.sql("ALTER TABLE noise ALTER COLUMN b SET STORAGE EXTERNAL");
      String first = pg.sql("SELECT pg_walfile_name(pg_current_wal_lsn())");
      long t = System.nanoTime();
      for (int i = 0; i < MIB; i++) { // 1 MiB per statement: 16 rows of 64 KiB
        pg.sql("INSERT INTO noise SELECT g, (SELECT string_agg(gen_random_bytes(1024), ''::bytea)"
            + " FROM generate_series(1, 64 + 0 * g)) FROM generate_series(" + (i * 16 + 1) + ", "
            + (i * 16 + 16) + ") g");
      }
      String last = pg.switchWal();
      // the whole backlog at once: the archiver's push and the agent's look-ahead upload five
      // incompressible segments side by side, the most part buffers WAL can ask for
      long failedBefore = pg.sqlLong("SELECT failed_count FROM pg_stat_archiver");
      pg.sql("ALTER SYSTEM SET archive_command = '" + Pod.walArchiver() + " --socket " + socket
          + " push %p'");
      pg.sql("SELECT pg_reload_conf()");
      try {
        pg.awaitArchived(last, Duration.ofSeconds(300));
      } catch (IllegalStateException e) {
        throw new AssertionError(e.getMessage() + "\n--- agent ---\n" + agentLog(work)
            + "\n--- postgres ---\n" + pg.logTail(40), e);
      }
      double walSeconds = (System.nanoTime() - t) / 1e9;
      assertEquals(failedBefore, pg.sqlLong("SELECT failed_count FROM pg_stat_archiver"),
          agentLog(work));
      Map<String, String> sums = segmentSums(pg.pgdata().resolve("pg_wal"), first, last);
      assertTrue(sums.size() >= MIB / 16, "segments " + sums.keySet());
      rss.put("after pushing " + sums.size() + " segments", peakRssKib());

      // ---- base backup ----
      t = System.nanoTime();
      String backup = backup(admin, work);
      double backupSeconds = (System.nanoTime() - t) / 1e9;
      rss.put("after the base backup", peakRssKib());

      List<S3Server.StoredObject> objects = s3.list("s3mem/db1/");
      List<S3Server.StoredObject> segments = objects.stream()
          .filter(o -> o.key().contains("/wal/") && sums.keySet().stream()
              .anyMatch(s -> o.key().contains(s))).toList();
      List<S3Server.StoredObject> base = objects.stream()
          .filter(o -> o.key().contains(backup) && o.size() > 3 * PART).toList();
      System.out.println("S3UploadMemoryTest: stored objects:");
      objects.forEach(o -> System.out.printf("  %-80s %10d bytes, %s%n", o.key(), o.size(),
          o.multipart() ? "multipart, streamed in " + (o.size() + PART - 1) / PART + " parts of 8 MiB"
              : "one PutObject"));
      assertEquals(sums.size(), segments.size(), "one object per segment: " + segments);
      assertTrue(segments.stream().filter(o -> o.size() > PART).count() >= sums.size() - 1,
          "the random rows' segments do not compress below a part: " + segments);
      // S3Upload: content of a part or more streams as a multipart upload of part-size parts
      // into a staging object, then the object is completed by a multipart copy of it (whose
      // ETag, "-1", is what the listing shows); shorter content is one PutObject (no "-N")
      assertTrue(segments.stream().filter(o -> o.size() > PART).allMatch(S3Server.StoredObject::multipart),
          "a segment larger than a part went through the multipart path: " + segments);
      assertFalse(base.isEmpty(), "a base backup object of more than 3 parts: " + objects);
      assertTrue(base.stream().allMatch(S3Server.StoredObject::multipart), "multipart: " + base);

      // ---- every segment back through the agent, byte for byte ----
      Path fetched = Files.createDirectories(work.resolve("fetched"));
      Files.setPosixFilePermissions(fetched, PosixFilePermissions.fromString("rwxrwxrwx"));
      for (var e : sums.entrySet()) {
        Process p = new ProcessBuilder("runuser", "-u", "postgres", "--",
            ROOT.resolve("bin/wal-archiver").toString(), "--socket", socket.toString(), "fetch",
            e.getKey(), e.getKey()).directory(fetched.toFile()).redirectErrorStream(true)
            .redirectOutput(work.resolve("fetch.log").toFile()).start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "fetch of " + e.getKey());
        assertEquals(0, p.exitValue(), Files.readString(work.resolve("fetch.log")) + agentLog(work));
        assertEquals(e.getValue(), sha256(fetched.resolve(e.getKey())), e.getKey());
        Files.delete(fetched.resolve(e.getKey()));
      }
      rss.put("after fetching every segment back", peakRssKib());

      // ---- the backup restored and replayed through the agent holds the same rows ----
      String source = pg.sql(CHECKSUM);
      Path restored = PostgresCluster.emptyDataDirectory();
      Path cliLog = work.resolve("restore.log");
      Process restore = AgentProcess.cli(config, cliLog, "restore", "--to", restored.toString(),
          "--backup", backup, "--wal-archiver", Pod.walArchiverLauncher(), "--socket",
          socket.toString()).start();
      assertTrue(restore.waitFor(5, TimeUnit.MINUTES), "pgsidecar restore ran for 5 minutes");
      assertEquals(0, restore.exitValue(), Files.readString(cliLog));
      try (PostgresCluster copy = PostgresCluster.fromExistingDataDir(restored)
          .setting("archive_mode", "off").deleteDataDirOnClose().build()) {
        copy.start();
        copy.awaitEndOfRecovery(Duration.ofSeconds(300));
        assertEquals(source, copy.sql(CHECKSUM));
      }
      rss.put("after the restore's WAL replay", peakRssKib());

      assertTrue(agent.isAlive(), "the agent died\n" + agentLog(work));
      assertFalse(agentLog(work).contains("OutOfMemoryError"), agentLog(work));
      long stored = objects.stream().mapToLong(S3Server.StoredObject::size).sum();
      System.out.printf("S3UploadMemoryTest: %d MiB of random rows; %d segments pushed in %.1f s;"
          + " base backup %s in %.1f s; %.1f MiB stored%n", MIB, sums.size(), walSeconds, backup,
          backupSeconds, stored / 1048576.0);
      rss.forEach((when, kib) -> System.out.printf("  agent VmHWM %-45s %4d MiB%n", when,
          kib / 1024));
      System.out.printf("  agent heap (-Xmx80m) after a collection at most %d MiB%n",
          heapAfterGcMib(work.resolve("gc.log")));
      long peak = rss.values().stream().mapToLong(Long::longValue).max().orElseThrow();
      assertTrue(peak <= RSS_BUDGET_KIB, "agent VmHWM " + peak / 1024 + " MiB is over the budget"
          + " of " + RSS_BUDGET_KIB / 1024 + " MiB: " + rss);
    }
  }

  private static Path writeConfig(Path work, S3Server s3, PostgresCluster pg, Path socket,
      Path admin) throws IOException {
    Path id = S3Server.writeSecret(work.resolve("s3-id"), S3Server.ACCESS_KEY);
    Path secret = S3Server.writeSecret(work.resolve("s3-secret"), S3Server.SECRET_KEY);
    Path spool = Files.createDirectories(work.resolve("spool"));
    Files.setPosixFilePermissions(spool, PosixFilePermissions.fromString("rwxrwxrwx"));
    return Files.writeString(work.resolve("pgsidecar.yaml"), """
        cluster: db1
        pgdata: %s
        socket: %s
        http:
          admin-socket: %s
          socket-mode: "0666"
        postgres:
          host: 127.0.0.1
          port: %d
          user: postgres
          bin-dir: %s
        storage:
          type: s3
          prefix: s3mem
          timeout: 60s
          s3:
            bucket: %s
            endpoint: %s
            region: %s
            path-style: true
            auth: static
            access-key-id-file: %s
            secret-access-key-file: %s
        wal:
          spool-dir: %s
        backup:
          wal-wait-timeout: 5m
        metrics:
          port: 0
        """.formatted(pg.pgdata(), socket, admin, pg.port(), pg.binDir(), s3.bucket(),
        s3.endpoint(), S3Server.REGION, id, secret, spool));
  }

  /** bin/pgsidecar agent, its launcher's own JVM flags untouched (-Xmx80m and the rest). */
  private void startAgent(Path work, Path config) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("bin/pgsidecar").toString(), "--config",
        config.toString(), "agent")
        .redirectErrorStream(true).redirectOutput(work.resolve("agent.log").toFile())
        .directory(work.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG")
        || k.startsWith("AWS_"));
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    // a GC log only (PGSIDECAR_JAVA_OPTS adds to the launcher's flags, it changes none of them)
    pb.environment().put("PGSIDECAR_JAVA_OPTS", "-Xlog:gc:file=" + work.resolve("gc.log"));
    agent = pb.start();
    Path socket = work.resolve("run/agent.sock");
    try {
      Waits.until(Duration.ofSeconds(90), Duration.ofMillis(50), () -> Files.exists(socket),
          "the agent exited", () -> !agent.isAlive());
    } catch (RuntimeException e) {
      throw new AssertionError("the agent did not open " + socket + ":\n" + agentLog(work), e);
    }
    String cmd = agent.info().commandLine().orElse("");
    assertTrue(cmd.contains("-Xmx80m"), "the launcher's heap: " + cmd);
  }

  private String backup(Path admin, Path work) throws IOException {
    try (var r = AgentConnection.unixSocket(admin).request("POST", "/v1/backups?wait=true",
        Map.of("Content-Type", "application/json"),
        "{\"label\":\"s3 memory\"}".getBytes(StandardCharsets.UTF_8))) {
      String body = r.bodyText(1 << 20);
      assertEquals(200, r.status(), body + "\n" + agentLog(work));
      var m = java.util.regex.Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"").matcher(body);
      assertTrue(m.find(), body);
      return m.group(1);
    }
  }

  /** SHA-256 of each segment file from {@code first} to {@code last} (same timeline). */
  private static Map<String, String> segmentSums(Path pgWal, String first, String last)
      throws Exception {
    Map<String, String> sums = new LinkedHashMap<>();
    List<String> names = new ArrayList<>();
    try (var files = Files.list(pgWal)) {
      files.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9A-F]{24}"))
          .filter(n -> n.compareTo(first) >= 0 && n.compareTo(last) <= 0).sorted()
          .forEach(names::add);
    }
    for (String n : names) {
      sums.put(n, sha256(pgWal.resolve(n)));
    }
    return sums;
  }

  /** VmHWM of the agent's JVM (the launcher execs java: the process itself). */
  private long peakRssKib() throws IOException {
    long max = 0;
    // the JVM only, not its pg_basebackup child
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(agent.pid()), "status"))) {
      if (line.startsWith("VmHWM:")) {
        max = Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    assertTrue(max > 0, "no VmHWM for the agent (pid " + agent.pid() + ")");
    return max;
  }

  private static String sha256(Path file) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** The largest heap occupancy after any collection in {@code -Xlog:gc}, MiB. */
  private static long heapAfterGcMib(Path gcLog) throws IOException {
    var m = java.util.regex.Pattern.compile("Pause .*?\\d+M->(\\d+)M\\(").matcher(
        Files.readString(gcLog));
    long max = 0;
    while (m.find()) {
      max = Math.max(max, Long.parseLong(m.group(1)));
    }
    return max;
  }

  private static String agentLog(Path work) {
    try {
      List<String> lines = new ArrayList<>(Files.readAllLines(work.resolve("agent.log")));
      if (Files.exists(work.resolve("gc.log"))) {
        List<String> gc = Files.readAllLines(work.resolve("gc.log"));
        lines.add("--- gc.log (last 15 lines) ---");
        lines.addAll(gc.subList(Math.max(0, gc.size() - 15), gc.size()));
      }
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 75), lines.size()));
    } catch (IOException e) {
      return "(no agent log: " + e + ")";
    }
  }
}
