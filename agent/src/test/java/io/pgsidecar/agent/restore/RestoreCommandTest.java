package io.pgsidecar.agent.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.pgsidecar.agent.cli.Main;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.fs.FsStorage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgsidecar restore} and {@code pgsidecar wal list} in-process against a filesystem
 * repository holding one hand-made backup (a real tar of a tiny data directory) and its WAL.
 */
class RestoreCommandTest {

  @TempDir Path dir;

  private Map<String, String> env;
  private final RepositoryLayout layout = new RepositoryLayout("", "db1");
  private final Instant stop = Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);

  record Run(int code, String out, String err) {}

  private Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, env, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  @BeforeEach
  void archive() throws Exception {
    Path repo = Files.createDirectories(dir.resolve("repo"));
    env = Map.of("PGSIDECAR_CLUSTER", "db1", "PGSIDECAR_STORAGE_PATH", repo.toString());
    Path src = Files.createDirectories(dir.resolve("src/global"));
    Files.writeString(dir.resolve("src/PG_VERSION"), "15\n");
    Files.writeString(src.resolve("pg_control"), "control");
    Process p = new ProcessBuilder("tar", "-cf", dir.resolve("data.tar").toString(), "-C",
        dir.resolve("src").toString(), "PG_VERSION", "global").inheritIO().start();
    assertEquals(0, p.waitFor());
    byte[] tar = Files.readAllBytes(dir.resolve("data.tar"));
    CodecPipeline zstd = Pipelines.zstd(1);
    ByteArrayOutputStream stored = new ByteArrayOutputStream();
    try (OutputStream o = zstd.encode(stored)) {
      o.write(tar);
    }
    try (Storage s = new FsStorage(repo)) {
      String id = "20261122T010000Z";
      String key = layout.baseData(id, zstd.suffix());
      put(s, key, stored.toByteArray());
      put(s, layout.baseManifest(id), new BackupManifest(1, id, "", "db1", "1", 150010, 1,
          "0/3000028", "0/3000100", stop.minusSeconds(2), stop, tar.length, stored.size(),
          sha(stored.toByteArray()), sha(tar), zstd.name(), "", key, "test",
          "000000010000000000000003", "000000010000000000000003").toJson());
      for (String seg : List.of("000000010000000000000003", "000000010000000000000004")) {
        put(s, layout.walKey(seg, ".zst"), new byte[] {1});
      }
    }
  }

  private static void put(Storage s, String key, byte[] b) throws Exception {
    s.create(key, new ByteArrayInputStream(b), () -> new ObjectMetadata("", b.length, "", ""));
  }

  private static String sha(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @Test
  void restoreLaysTheBackupIntoTheDirectoryAndSaysWhatToDoNext() throws Exception {
    Path to = dir.resolve("restored");
    Run r = run("restore", "--to", to.toString(), "--target-lsn", "0/4000000", "--target-action",
        "pause", "--from-cluster", "db1", "--wal-archiver", "/opt/wal-archiver", "--socket", "/run/a.sock");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("restored backup 20261122T010000Z (taken " + stop.minusSeconds(2)
        + ", ends at LSN 0/3000100) from db1/ into " + to + "\n"), r.out());
    assertTrue(r.out().contains("\n  recovery target: lsn 0/4000000 (inclusive), then pause\n"), r.out());
    assertTrue(r.out().contains("\n  the archive covers from " + stop + " (LSN 0/3000100, end of backup"
        + " 20261122T010000Z) to "), r.out());
    assertTrue(r.out().endsWith("next step: start PostgreSQL on " + to + "; it replays WAL through"
        + " /opt/wal-archiver fetch (the agent must be running and reach the repository)\n"), r.out());
    assertEquals("control", Files.readString(to.resolve("global/pg_control")));
    String auto = Files.readString(to.resolve("postgresql.auto.conf"));
    assertTrue(auto.contains("restore_command = '/opt/wal-archiver fetch %f %p --socket /run/a.sock"
        + " --cluster db1'\nrecovery_target_lsn = '0/4000000'\n"), auto);
    assertTrue(Files.exists(to.resolve("recovery.signal")));
  }

  /** On a host (no /pgsidecar/bin) the restored server fetches through this installation's client. */
  @Test
  void withoutThePodPathRestoreCommandNamesTheClientBesideThisPgsidecar() throws Exception {
    // The rule under test reads the real /pgsidecar/bin/wal-archiver (a fixed pod path, not a
    // setting): where that file exists, as inside our image, the host case cannot be made, and
    // the pod path is then the right answer. CI and development machines have no such file.
    assumeFalse(Files.exists(Path.of("/pgsidecar/bin/wal-archiver")), "a pod's path exists here");
    Path client = Path.of("..").toAbsolutePath().normalize().resolve("bin/wal-archiver");
    Path to = dir.resolve("restored");
    Run r = run("restore", "--to", to.toString(), "--target-lsn", "0/4000000");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().endsWith("it replays WAL through " + client + " fetch (the agent must be"
        + " running and reach the repository)\n"), r.out());
    String auto = Files.readString(to.resolve("postgresql.auto.conf"));
    assertTrue(auto.contains("restore_command = '" + client + " fetch %f %p'\n"), auto);
    // said explicitly, the pod's path stays, whether it exists here or not
    Path again = dir.resolve("restored-2");
    Run pod = run("restore", "--to", again.toString(), "--target-lsn", "0/4000000",
        "--wal-archiver", "/pgsidecar/bin/wal-archiver");
    assertEquals(0, pod.code(), pod.err());
    assertTrue(Files.readString(again.resolve("postgresql.auto.conf"))
        .contains("restore_command = '/pgsidecar/bin/wal-archiver fetch %f %p'\n"));
  }

  @Test
  void twoTargetsAreAUsageError() {
    Run r = run("restore", "--to", dir.resolve("x").toString(), "--target-lsn", "0/4000000",
        "--target-immediate");
    assertEquals(2, r.code());
    assertTrue(r.err().startsWith("give at most one of --target-time, --target-lsn, --target-xid,"
        + " --target-name, --target-immediate"), r.err());
    assertFalse(Files.exists(dir.resolve("x")));
  }

  @Test
  void anUnreachableTargetFailsWithTheCoveredRangeAndWritesNothing() {
    Run r = run("restore", "--to", dir.resolve("x").toString(), "--target-lsn", "0/9000000");
    assertEquals(1, r.code());
    assertTrue(r.err().startsWith("pgsidecar restore: target LSN 0/9000000 is after the last archived"
        + " WAL segment, so replay cannot reach it; the archive covers from " + stop), r.err());
    assertTrue(r.err().endsWith(" (LSN 0/5000000, end of WAL segment 000000010000000000000004)\n"), r.err());
    assertFalse(Files.exists(dir.resolve("x")));
  }

  @Test
  void walListPrintsTheSegmentsAndTheRecoverableWindow() {
    Run r = run("wal", "list");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("archive file://" + dir.resolve("repo") + "/db1/: 2 segments, first"
        + " 000000010000000000000003, last 000000010000000000000004, timelines [1]; 1 complete"
        + " backups\nrecoverable from " + stop + " (LSN 0/3000100, end of backup 20261122T010000Z) to "),
        r.out());
    Run json = run("wal", "list", "--output", "json");
    assertEquals(0, json.code(), json.err());
    assertTrue(json.out().contains("\"segments\" : 2"), json.out());
    assertTrue(json.out().contains("\"lastSegment\" : \"000000010000000000000004\""), json.out());
    assertTrue(json.out().contains("\"lastLsn\" : \"0/5000000\""), json.out());
  }
}
