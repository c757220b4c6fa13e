package io.pgsidecar.agent.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgsidecar backup verify}, {@code wal verify} and their exit codes, run through the CLI
 * against a filesystem repository holding a real base backup and its WAL.
 */
class VerifyCommandTest {

  static final Path ARCHIVE = VerifyFixture.sharedDir("pgsidecar-verify-archive-");
  static final Path WORK = VerifyFixture.sharedDir("pgsidecar-verify-work-");

  @RegisterExtension
  static final PostgresCluster PG = VerifyFixture.archivingCluster(ARCHIVE);

  @TempDir
  Path tmp;

  private final CodecPipeline zstd = Pipelines.zstd(3);

  private VerifyFixture.Run run(Path repo, String... args) {
    return VerifyFixture.cli(PG, repo, WORK, args);
  }

  private BackupManifest backup(Storage storage) throws Exception {
    try {
      return VerifyFixture.whileShipping(PG, ARCHIVE, storage, zstd, service -> {
        BackupManifest m = service.create("cli test");
        PG.awaitArchived(PG.switchWal(), Duration.ofSeconds(60));
        return m;
      });
    } finally {
      new VerifyFixture.Shipper(ARCHIVE, storage, zstd).shipNew();
    }
  }

  @Test
  void aGoodBackupVerifiesWithExitZeroAndADamagedOneExitsFive() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    BackupManifest m;
    try (Storage storage = new FsStorage(repo)) {
      m = backup(storage);
    }
    VerifyFixture.Run ok = run(repo, "backup", "verify", m.id(), "--restore");
    assertEquals(0, ok.code(), ok.err());
    System.out.println("$ pgsidecar backup verify " + m.id() + " --restore\n" + ok.out());
    assertTrue(ok.out().startsWith("backup " + m.id() + " verified in "), ok.out());
    assertTrue(ok.out().contains("\n  manifest   pg_verifybackup: backup successfully verified\n"),
        ok.out());
    assertTrue(ok.out().contains("\n  restore    started to consistency on a private socket;"
        + " probe: "), ok.out());

    VerifyFixture.Run json = run(repo, "backup", "verify", m.id(), "--output", "json", "--progress", "never");
    assertEquals(0, json.code(), json.err());
    assertEquals("", json.err());
    JsonNode n = new ObjectMapper().readTree(json.out());
    assertEquals(m.id(), n.path("backupId").asText());
    assertEquals(m.storedSha256(), n.path("storedSha256").asText());
    assertEquals("backup successfully verified", n.path("pgVerifybackup").asText());

    VerifyFixture.Run missing = run(repo, "backup", "verify", "20200101T000000Z");
    assertEquals(4, missing.code(), missing.err());
    assertEquals("pgsidecar backup verify: backup 20200101T000000Z does not exist in file://"
        + repo + "/test/db1/ (no test/db1/base/20200101T000000Z/backup.json); list the backups"
        + " with pgsidecar backup list\n", missing.err());

    try (RandomAccessFile f = new RandomAccessFile(repo.resolve(m.dataKey()).toFile(), "rw")) {
      f.seek(100);
      int b = f.read();
      f.seek(100);
      f.write(b ^ 0x80);
    }
    VerifyFixture.Run damaged = run(repo, "backup", "verify", m.id());
    assertEquals(5, damaged.code(), damaged.err());
    assertTrue(damaged.err().startsWith("pgsidecar backup verify: backup " + m.id() + ": "
        + m.dataKey() + " is damaged: its stored bytes have SHA-256 "), damaged.err());
    try (var left = Files.list(WORK)) {
      assertEquals(0, left.count(), "scratch directories left behind");
    }
  }

  @Test
  void walVerifyExitsFiveAndNamesTheGap() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    BackupManifest m;
    try (Storage storage = new FsStorage(repo)) {
      m = backup(storage);
    }
    VerifyFixture.Run whole = run(repo, "wal", "verify");
    assertEquals(0, whole.code(), whole.err());
    System.out.println("$ pgsidecar wal verify\n" + whole.out());
    assertTrue(whole.out().endsWith("\nno gap\n"), whole.out());
    try (Storage storage = new FsStorage(repo)) {
      assertTrue(storage.delete(VerifyFixture.LAYOUT.walKey(m.walStartSegment(), ".zst")));
    }
    VerifyFixture.Run gap = run(repo, "wal", "verify");
    assertEquals(5, gap.code(), gap.err());
    System.out.println("$ pgsidecar wal verify\n" + gap.out());
    assertTrue(gap.out().endsWith("\ntimeline 1: " + m.walStartSegment()
        + " missing (1 segment)\n"), gap.out());
    VerifyFixture.Run json = run(repo, "wal", "verify", "--output", "json");
    assertEquals(5, json.code());
    JsonNode n = new ObjectMapper().readTree(json.out());
    assertEquals(1, n.path("missingSegments").asInt());
    assertEquals("timeline 1: " + m.walStartSegment() + " missing (1 segment)",
        n.path("problems").get(0).asText());
  }
}
