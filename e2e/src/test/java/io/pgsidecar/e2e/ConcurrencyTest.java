package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.testkit.Azurite;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Everything at once: 32 wal-archiver push processes for 32 ready segments started together,
 * and a base backup, a dump and WAL traffic running side by side. Every push is answered 0 and
 * stored once with the segment's own checksum, PostgreSQL's own later pushes of the same
 * segments succeed, and the backup and dump taken under load restore.
 */
class ConcurrencyTest {

  @TempDir static Path dir;
  static Azurite azurite;
  static FaultRig rig;

  @BeforeAll
  static void start() throws Exception {
    azurite = Azurite.launch();
    rig = new FaultRig(dir.resolve("pod"), azurite, azurite.endpoint(),
        "dump:\n  allow-overlap-with-backup: true\n");
    rig.pg.pgbench("-i", "-s", "2", "-q");
    rig.backup("base");
  }

  @AfterAll
  static void stop() {
    try {
      if (rig != null) {
        rig.close();
      }
    } finally {
      if (azurite != null) {
        azurite.close();
      }
    }
  }

  @AfterEach
  void stopWriters() throws InterruptedException {
    rig.stopWriters();
  }

  @Test
  void thirtyTwoConcurrentPushesOfThirtyTwoReadySegmentsAllSucceedAndStoreEachOnce() throws Exception {
    IdWriter w = rig.writer("pushes32");
    w.awaitProgress(100);
    // PostgreSQL keeps its segments .ready while its own archive_command fails
    rig.pg.sql("ALTER SYSTEM SET archive_command = 'false'");
    rig.pg.sql("SELECT pg_reload_conf()");
    List<String> segments = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      w.awaitProgress(5);
      segments.add(rig.pg.switchWal());
    }
    List<String> hashes = new ArrayList<>();
    for (String s : segments) {
      hashes.add(sha256(rig.pg.pgdata().resolve("pg_wal").resolve(s)));
    }

    List<Process> pushes = new ArrayList<>();
    for (String s : segments) {
      List<String> cmd = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
      cmd.addAll(List.of(rig.walArchiver.toString()));
      cmd.addAll(List.of("--socket", rig.socket.toString(), "push", "pg_wal/" + s));
      pushes.add(new ProcessBuilder(cmd).directory(rig.pg.pgdata().toFile()).redirectErrorStream(true).start());
    }
    List<CompletableFuture<String>> outputs = pushes.stream().map(p -> CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (java.io.IOException e) {
        return e.toString();
      }
    })).toList();
    for (int i = 0; i < pushes.size(); i++) {
      Process p = pushes.get(i);
      assertTrue(p.waitFor(3, TimeUnit.MINUTES), "push of " + segments.get(i) + " still running");
      assertEquals(0, p.exitValue(), segments.get(i) + ": " + outputs.get(i).get());
      assertEquals("", outputs.get(i).get());
    }
    for (int i = 0; i < segments.size(); i++) {
      var meta = rig.blobs().getBlobClient(rig.layout.walKey(segments.get(i), ".zst")).getProperties()
          .getMetadata();
      assertEquals(hashes.get(i), meta.get("plain_sha256"), segments.get(i));
    }
    List<String> files = rig.walFiles();
    assertEquals(files.size(), new java.util.HashSet<>(files).size(), "one object per WAL file: " + files);

    // PostgreSQL pushes the same segments again: the same content is success, not a conflict
    int logBefore = rig.pg.logTail(1_000_000).length();
    rig.pg.sql("ALTER SYSTEM RESET archive_command");
    rig.pg.sql("SELECT pg_reload_conf()");
    rig.pg.awaitArchived(segments.get(31), java.time.Duration.ofSeconds(180));
    String since = rig.pg.logTail(1_000_000).substring(logBefore);
    assertFalse(since.contains("archive command failed") || since.contains("wal-archiver: push of"),
        "PostgreSQL's own pushes of the stored segments: " + since);
    rig.assertNothingLost(null, false, w);
  }

  @Test
  void backupDumpAndWalTrafficAtOnceAllComplete() throws Exception {
    IdWriter w = rig.writer("all_at_once");
    w.awaitProgress(100);
    CompletableFuture<String> pgbench = CompletableFuture.supplyAsync(() ->
        rig.pg.pgbench("-n", "-c", "2", "-T", "10"));
    FaultRig.Reply backup = rig.http("POST", "/v1/backups", "{\"label\":\"under load\"}");
    assertEquals(202, backup.status(), backup.body());
    FaultRig.Reply dump = rig.http("POST", "/v1/dumps", "{\"databases\":[\"postgres\"]}");
    assertEquals(202, dump.status(), dump.body());
    String backupId = backup.json().path("id").asText();
    String dumpId = dump.json().path("id").asText();
    rig.await("backup and dump done", () -> rig.http("GET", "/v1/backups/" + backupId, null).status() != 202
        && rig.http("GET", "/v1/dumps/" + dumpId, null).status() != 202);
    FaultRig.Reply b = rig.http("GET", "/v1/backups/" + backupId, null);
    assertEquals(200, b.status(), b.body());
    FaultRig.Reply d = rig.http("GET", "/v1/dumps/" + dumpId, null);
    assertEquals("COMPLETE", d.json().path("state").asText(), d.body());
    assertTrue(pgbench.get(2, TimeUnit.MINUTES).contains("number of failed transactions: 0"), pgbench.get());

    // the dump under load is one consistent snapshot: all of pgbench's accounts, no gap in ids
    FaultRig.Run restored = rig.cli("dump", "restore", dumpId, "--db", "postgres", "--as", "loadcheck",
        "--target", "postgresql://postgres@127.0.0.1:" + rig.pg.port() + "/postgres");
    assertEquals(0, restored.code(), restored.output());
    assertEquals("200000", rig.pg.psql("-d", "loadcheck", "-c", "SELECT count(*) FROM pgbench_accounts").strip());
    String ids = rig.pg.psql("-d", "loadcheck", "-c",
        "SELECT (count(*) = max(id) AND min(id) = 1 AND count(*) > 0)::text FROM all_at_once").strip();
    assertEquals("true", ids);
    rig.assertNothingLost(backupId, false, w);
  }

  private static String sha256(Path file) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }
}
