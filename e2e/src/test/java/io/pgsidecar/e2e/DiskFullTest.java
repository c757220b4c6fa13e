package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.CommandResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk where the agent's side writes: the data directory a restore fills, the pg_wal
 * file a fetch writes for PostgreSQL, and the prefetch spool. Each is a small tmpfs. A full
 * disk fails the step with the system's own words and leaves nothing that looks finished; with
 * space back, the same step completes, and a restore to the end of the archive holds every
 * acknowledged row.
 */
class DiskFullTest {

  private static final String NO_SPACE = "No space left on device";

  @TempDir static Path dir;
  static Azurite azurite;
  static FaultRig rig;

  @BeforeAll
  static void start() throws Exception {
    azurite = Azurite.launch();
    rig = new FaultRig(dir.resolve("pod"), azurite, azurite.endpoint(), "");
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
  void restoreIntoAFullDataDirectoryFailsNamingTheDiskAndCompletesOnceThereIsSpace() throws Exception {
    IdWriter w = rig.writer("full_pgdata");
    w.awaitProgress(300);
    Map<String, Long> acknowledged = rig.settle(w);
    try (Tmpfs disk = Tmpfs.mount(dir.resolve("small-volume"), 20)) {
      Path target = Files.createDirectories(disk.dir.resolve("pgdata"));
      FaultRig.Run full = rig.cli(rig.restoreArgs(target).toArray(String[]::new));
      assertEquals(1, full.code(), full.output());
      assertTrue(full.output().contains("pgsidecar restore: "), full.output());
      assertTrue(full.output().contains(NO_SPACE), full.output());
      assertFalse(Files.exists(target.resolve("recovery.signal")), "a failed restore must not look ready");

      disk.resize(400);
      FaultRig.Run again = rig.cli(rig.restoreArgs(target).toArray(String[]::new));
      assertEquals(0, again.code(), again.output());
      assertTrue(again.output().contains("restored backup "), again.output());
      rig.assertRestored(target, acknowledged, false);
    }
  }

  @Test
  void fetchIntoAFullPgWalExits255LeavesNoFileAndSucceedsOnceThereIsSpace() throws Exception {
    IdWriter w = rig.writer("full_pg_wal");
    w.awaitProgress(100);
    rig.settle(w);
    String segment = rig.walFiles().stream().filter(f -> f.length() == 24).sorted().reduce((a, b) -> b)
        .orElseThrow();
    try (Tmpfs disk = Tmpfs.mount(dir.resolve("small-pg-wal"), 4)) {
      Files.setOwner(disk.dir, disk.dir.getFileSystem().getUserPrincipalLookupService()
          .lookupPrincipalByName("postgres"));
      Path into = disk.dir.resolve("RECOVERYXLOG");
      CommandResult full = fetch(segment, into);
      assertEquals(255, full.exitCode(), full.output());
      assertTrue(full.output().contains("wal-archiver: fetch of " + segment + " into " + into
          + " failed: " + NO_SPACE), full.output());
      try (Stream<Path> left = Files.list(disk.dir)) {
        assertEquals(List.of(), left.toList(), "no partial file may stay where PostgreSQL looks");
      }

      disk.resize(40);
      CommandResult fetched = fetch(segment, into);
      assertEquals(0, fetched.exitCode(), fetched.output());
      String stored = rig.blobs().getBlobClient(rig.layout.walKey(segment, ".zst")).getProperties()
          .getMetadata().get("plain_sha256");
      assertEquals(stored, sha256(into), "the fetched segment is the archived one");
    }
  }

  @Test
  void fullSpoolNeitherStopsArchivingNorReplay() throws Exception {
    try (Tmpfs spool = Tmpfs.mount(rig.work.resolve("spool"), 1)) {
      IdWriter w = rig.writer("full_spool");
      w.awaitProgress(200);
      rig.writeWal("full_spool_fill", 20);
      w.awaitProgress(200);
      // settles through pushes with the spool full, then replays with prefetch unable to spool
      rig.assertNothingLost(null, false, w);
      assertTrue(Files.isDirectory(spool.dir.resolve(FaultRig.CLUSTER)),
          "prefetch tried the 1 MiB spool (every 16 MiB segment failed there)");
    }
  }

  private static CommandResult fetch(String segment, Path into) {
    List<String> cmd = new ArrayList<>(List.of(rig.walArchiver.toString()));
    cmd.addAll(List.of("--socket", rig.socket.toString(), "fetch", segment, into.toString()));
    return rig.pg.runAsPostgres(cmd);
  }

  private static String sha256(Path file) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }
}
