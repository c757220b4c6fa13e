package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL of the agent (and of {@code pgsidecar restore}, and of the postmaster) in the middle
 * of each kind of work, under write load. Nothing the agent acknowledged is lost, nothing half
 * written is reported as done, and the same work started again succeeds: each test ends with a
 * restore to the end of the archive that holds every acknowledged row.
 */
class AgentKillTest {

  @TempDir static Path dir;
  static Azurite azurite;
  static FaultRig rig;

  @BeforeAll
  static void start() throws Exception {
    azurite = Azurite.launch();
    rig = new FaultRig(dir.resolve("pod"), azurite, azurite.endpoint(), "");
    rig.pg.pgbench("-i", "-s", "5", "-q");
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
  void agentKilledWhilePushingWalLosesNothingAndArchivingResumes() throws Exception {
    IdWriter w = rig.writer("kill_push");
    w.awaitProgress(200);
    long archivedBefore = archivedCount();
    rig.writeWal("kill_push_fill", 40);
    // pushes are flowing and segments wait: the agent is uploading right now
    awaitTrue("pushes under way", () -> archivedCount() > archivedBefore && readyCount() > 0);
    rig.agent.kill();
    w.awaitProgress(200); // PostgreSQL keeps committing; its archive_command now fails
    rig.agent.start();

    rig.assertNothingLost(null, false, w);
    List<String> files = rig.walFiles();
    assertEquals(files.size(), new HashSet<>(files).size(), "one object per WAL file: " + files);
    assertFalse(rig.agent.log().contains("other content"), rig.agent.logTail());
  }

  @Test
  void agentKilledDuringABaseBackupLeavesNoBackupAndTheNextOneWorks() throws Exception {
    IdWriter w = rig.writer("kill_backup");
    w.awaitProgress(100);
    FaultRig.Reply started = rig.http("POST", "/v1/backups", "{\"label\":\"killed\"}");
    assertEquals(202, started.status(), started.body());
    String id = started.json().path("id").asText();
    awaitTrue("backup " + id + " streaming", () -> {
      FaultRig.Reply r = rig.http("GET", "/v1/backups/" + id, null);
      return r.status() == 202 && r.json().path("storedBytes").asLong() > 0;
    });
    rig.agent.kill();
    awaitTrue("pg_basebackup of the killed agent gone", () -> ProcessHandle.allProcesses()
        .noneMatch(p -> p.info().commandLine().orElse("").contains("pg_basebackup")
            && p.info().commandLine().orElse("").contains(Integer.toString(rig.pg.port()))));
    rig.agent.start();

    FaultRig.Reply shown = rig.http("GET", "/v1/backups/" + id, null);
    assertEquals(404, shown.status(), shown.body());
    assertEquals("no complete base backup " + id, shown.json().path("error").asText(), shown.body());
    assertEquals(List.of(), rig.blobNames(rig.layout.baseManifest(id)));
    String next = rig.backup("after the kill");
    String listed = rig.http("GET", "/v1/backups", null).body();
    assertTrue(listed.contains(next) && !listed.contains(id), listed);
    rig.assertNothingLost(next, false, w);
  }

  @Test
  void agentKilledDuringADumpLeavesItIncompleteAndTheNextOneRestores() throws Exception {
    IdWriter w = rig.writer("kill_dump");
    w.awaitProgress(100);
    FaultRig.Reply started = rig.http("POST", "/v1/dumps", "{\"databases\":[\"postgres\"]}");
    assertEquals(202, started.status(), started.body());
    String id = started.json().path("id").asText();
    awaitTrue("dump " + id + " storing", () -> !rig.blobNames(rig.layout.dumpDir(id)).isEmpty());
    rig.agent.kill();
    rig.agent.start();

    FaultRig.Reply shown = rig.http("GET", "/v1/dumps/" + id, null);
    assertEquals(200, shown.status(), shown.body());
    assertEquals("INCOMPLETE", shown.json().path("state").asText(), shown.body());
    assertEquals(List.of(), rig.blobNames(rig.layout.dumpManifest(id)));
    FaultRig.Reply next = rig.http("POST", "/v1/dumps?wait=true", "{\"databases\":[\"postgres\"]}");
    assertEquals(200, next.status(), next.body());
    String nextId = next.json().path("id").asText();
    assertEquals("COMPLETE", next.json().path("state").asText(), next.body());

    FaultRig.Run restored = rig.cli("dump", "restore", nextId, "--db", "postgres", "--as", "dumpcheck",
        "--target", "postgresql://postgres@127.0.0.1:" + rig.pg.port() + "/postgres");
    assertEquals(0, restored.code(), restored.output());
    String sums = "SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts";
    assertEquals(rig.pg.sql(sums), rig.pg.psql("-d", "dumpcheck", "-c", sums).strip());
    rig.assertNothingLost(null, false, w);
  }

  @Test
  void restoreKilledHalfwayCompletesWhenRunAgain() throws Exception {
    IdWriter w = rig.writer("kill_restore");
    w.awaitProgress(300);
    Map<String, Long> acknowledged = rig.settle(w);
    Path target = PostgresCluster.emptyDataDirectory();
    Path log = dir.resolve("killed-restore.log");
    Process first = rig.startCli(log, rig.restoreArgs(target).toArray(String[]::new));
    awaitTrue("restore halfway", () -> {
      if (!first.isAlive()) {
        throw new AssertionError("the restore ended before it was killed: " + Files.readString(log));
      }
      return size(target) > 24L << 20;
    });
    first.destroyForcibly().waitFor();
    assertFalse(Files.exists(target.resolve("recovery.signal")), "a killed restore must not look ready");

    FaultRig.Run again = rig.cli(rig.restoreArgs(target).toArray(String[]::new));
    assertEquals(0, again.code(), again.output());
    assertTrue(again.output().contains("restored backup "), again.output());
    rig.assertRestored(target, acknowledged, false);
  }

  @Test
  void postgresCrashingDuringABackupFailsItAndTheNextOneWorks() throws Exception {
    IdWriter w = rig.writer("crash_backup");
    w.awaitProgress(100);
    FaultRig.Reply started = rig.http("POST", "/v1/backups", "{\"label\":\"crashed\"}");
    assertEquals(202, started.status(), started.body());
    String id = started.json().path("id").asText();
    awaitTrue("backup " + id + " streaming", () -> {
      FaultRig.Reply r = rig.http("GET", "/v1/backups/" + id, null);
      return r.status() == 202 && r.json().path("storedBytes").asLong() > 0;
    });
    rig.pg.killPostmaster();

    awaitTrue("backup " + id + " ended", () -> rig.http("GET", "/v1/backups/" + id, null).status() != 202);
    FaultRig.Reply shown = rig.http("GET", "/v1/backups/" + id, null);
    assertEquals(404, shown.status(), shown.body());
    assertEquals("failed", shown.json().path("state").asText(), shown.body());
    assertTrue(shown.json().path("error").asText().startsWith("base backup " + id + " failed: "),
        shown.body());
    assertEquals(List.of(), rig.blobNames(rig.layout.baseManifest(id)));
    awaitTrue("the writer saw the crash", () -> w.failure() != null);

    rig.pg.start(); // crash recovery
    String next = rig.backup("after the crash");
    rig.assertNothingLost(next, true, w);
  }

  // ---- helpers -----------------------------------------------------------------------------

  private static long archivedCount() {
    return rig.pg.sqlLong("SELECT archived_count FROM pg_stat_archiver");
  }

  private static long readyCount() {
    try (Stream<Path> s = Files.list(rig.pg.pgdata().resolve("pg_wal/archive_status"))) {
      return s.filter(p -> p.toString().endsWith(".ready")).count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static long size(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.mapToLong(p -> {
        try {
          return Files.isRegularFile(p) ? Files.size(p) : 0;
        } catch (IOException gone) {
          return 0;
        }
      }).sum();
    } catch (NoSuchFileException | UncheckedIOException moving) {
      return 0;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void awaitTrue(String what, FaultRig.Check check) throws Exception {
    rig.await(what, check);
  }
}
