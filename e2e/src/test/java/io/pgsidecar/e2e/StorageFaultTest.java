package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.FaultProxy;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Storage misbehaving under write load: Azurite stopped and started again, and, through
 * {@link FaultProxy} between the agent and Azurite, requests delayed, connections reset, and a
 * block-list commit whose reply is lost after Azure did it. Archiving resumes, nothing is
 * stored twice or with other content, work whose commit reply was lost is reported done, and a
 * restore to the end of the archive holds every acknowledged row.
 */
class StorageFaultTest {

  @TempDir static Path dir;
  static Azurite azurite;
  static FaultProxy proxy;
  static FaultRig rig;

  @BeforeAll
  static void start() throws Exception {
    azurite = Azurite.launch();
    proxy = FaultProxy.to(azurite.port());
    // storage.timeout 5s, storage.retries 1: outages are felt within seconds
    rig = new FaultRig(dir.resolve("pod"), azurite, proxy.endpoint(Azurite.ACCOUNT), "", "5s", 1);
    rig.pg.pgbench("-i", "-s", "1", "-q");
    rig.backup("base");
  }

  @AfterAll
  static void stop() {
    try {
      if (rig != null) {
        rig.close();
      }
    } finally {
      if (proxy != null) {
        proxy.close();
      }
      if (azurite != null) {
        azurite.close();
      }
    }
  }

  @AfterEach
  void cleanUp() throws InterruptedException {
    proxy.clear();
    proxy.refuse(false);
    rig.stopWriters();
  }

  @Test
  void azuriteStoppedAndStartedAgainArchivingResumesAndNothingIsLost() throws Exception {
    IdWriter w = rig.writer("azurite_restart");
    w.awaitProgress(200);
    long failedBefore = failedCount();
    // SIGTERM, not SIGKILL: Azurite keeps blob metadata in memory and saves it every 5 s, so a
    // SIGKILL loses writes it already acknowledged, which Azure itself never does
    azurite.stop();
    rig.writeWal("azurite_restart_fill", 20);
    rig.await("archive_command failing while storage is down", () -> failedCount() > failedBefore);
    w.awaitProgress(200);
    azurite.start();

    rig.assertNothingLost(null, false, w);
    assertOneObjectPerWalFile();
  }

  @Test
  void slowStorageDelaysPushesButLosesNothing() throws Exception {
    IdWriter w = rig.writer("slow_storage");
    w.awaitProgress(100);
    int before = proxy.fired().size();
    // one write slower than storage.timeout (5 s): the attempt is abandoned and retried while
    // the slow one still lands; every other request waits half a second
    proxy.delay(commitUnder("/wal/"), Duration.ofSeconds(7), 1);
    proxy.delay(FaultProxy.any(), Duration.ofMillis(500), 30);
    rig.writeWal("slow_storage_fill", 20);
    w.awaitProgress(100);
    rig.assertNothingLost(null, false, w);
    List<String> fired = firedSince(before);
    assertTrue(fired.size() >= 2 && fired.stream().allMatch(f -> f.startsWith("DELAY ")), fired.toString());
    assertOneObjectPerWalFile();
  }

  @Test
  void resetConnectionsAreRetriedAndNothingIsLost() throws Exception {
    IdWriter w = rig.writer("reset_storage");
    w.awaitProgress(100);
    int before = proxy.fired().size();
    proxy.reset(FaultProxy.request("PUT", "comp=block&"), 3);
    proxy.reset(FaultProxy.request("PUT", "comp=blocklist"), 2);
    proxy.reset(FaultProxy.request("GET", "/"), 2);
    rig.writeWal("reset_storage_fill", 20);
    w.awaitProgress(100);
    rig.assertNothingLost(null, false, w);
    List<String> fired = firedSince(before);
    assertTrue(fired.stream().filter(f -> f.startsWith("RESET PUT")).count() >= 5, fired.toString());
    assertOneObjectPerWalFile();
  }

  @Test
  void lostCommitReplyOfASegmentIsAnArchivedSegment() throws Exception {
    IdWriter w = rig.writer("lost_commit_wal");
    w.awaitProgress(100);
    int before = proxy.fired().size();
    proxy.dropResponse(walCommit(), 1);
    String seg = rig.archiveCurrentSegment();
    List<String> fired = firedSince(before);
    assertEquals(1, fired.size(), fired.toString());
    assertTrue(fired.get(0).startsWith("DROP_RESPONSE PUT ") && fired.get(0).contains("%2Fwal%2F"), fired.toString());
    assertTrue(rig.walFiles().contains(seg), seg);
    assertFalse(rig.agent.log().contains("other content"), rig.agent.logTail());
    rig.assertNothingLost(null, false, w);
    assertOneObjectPerWalFile();
  }

  @Test
  void lostCommitReplyOfABaseBackupIsACompleteBackup() throws Exception {
    IdWriter w = rig.writer("lost_commit_backup");
    w.awaitProgress(100);
    int before = proxy.fired().size();
    proxy.dropResponse(commitUnder("/base/"), 1);
    String id = rig.backup("lost reply"); // asserts 200
    List<String> fired = firedSince(before);
    assertEquals(1, fired.size(), fired.toString());
    assertTrue(fired.get(0).contains("data.tar.zst?comp=blocklist"), fired.toString());
    assertEquals(List.of(rig.layout.baseManifest(id)), rig.blobNames(rig.layout.baseManifest(id)));
    rig.assertNothingLost(id, false, w);
  }

  @Test
  void lostCommitReplyOfADumpIsACompleteDump() throws Exception {
    int before = proxy.fired().size();
    proxy.dropResponse(commitUnder("/dumps/"), 1);
    FaultRig.Reply dump = rig.http("POST", "/v1/dumps?wait=true", "{\"databases\":[\"postgres\"]}");
    assertEquals(200, dump.status(), dump.body() + "\n" + rig.agent.logTail());
    assertEquals("COMPLETE", dump.json().path("state").asText(), dump.body());
    assertEquals(1, firedSince(before).size(), firedSince(before).toString());
    String id = dump.json().path("id").asText();
    FaultRig.Run restored = rig.cli("dump", "restore", id, "--db", "postgres", "--as", "lostreply",
        "--target", "postgresql://postgres@127.0.0.1:" + rig.pg.port() + "/postgres");
    assertEquals(0, restored.code(), restored.output());
    String sums = "SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts";
    assertEquals(rig.pg.sql(sums), rig.pg.psql("-d", "lostreply", "-c", sums).strip());
  }

  // ---- helpers -----------------------------------------------------------------------------

  private static Predicate<FaultProxy.Request> walCommit() {
    return commitUnder("/wal/");
  }

  private static Predicate<FaultProxy.Request> commitUnder(String part) {
    // the object's last write: its block list, or the one Put Blob of an object under a block
    // (the SDK sends the '/' of a blob name as %2F)
    return r -> {
      String target = URLDecoder.decode(r.target(), StandardCharsets.UTF_8);
      return "PUT".equals(r.method()) && target.contains(part)
          && (target.contains("comp=blocklist") || !target.contains("comp="));
    };
  }

  /** The faults applied since the proxy had applied {@code before}. */
  private static List<String> firedSince(int before) {
    List<String> all = proxy.fired();
    return all.subList(before, all.size());
  }

  private static long failedCount() {
    return rig.pg.sqlLong("SELECT failed_count FROM pg_stat_archiver");
  }

  private static void assertOneObjectPerWalFile() {
    List<String> files = rig.walFiles();
    assertEquals(files.size(), new HashSet<>(files).size(), "one object per WAL file: " + files);
  }
}
