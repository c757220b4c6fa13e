package io.pgsidecar.agent.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.backup.BackupService;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.io.DigestingInputStream;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.verify.WalReport;
import io.pgsidecar.core.verify.WalVerifier;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code backup verify} and {@code wal verify} against real base backups of a real cluster, taken
 * by the agent's own {@link BackupService} into the filesystem repository and Azurite; damage is
 * made by hand in the stored objects and must be named exactly.
 */
class BackupVerifierTest {

  static final Path ARCHIVE = VerifyFixture.sharedDir("pgsidecar-verify-archive-");
  static final Path WORK = VerifyFixture.sharedDir("pgsidecar-verify-work-");
  static final String PROBE = "SELECT count(*) FROM verify_probe";

  @RegisterExtension
  static final PostgresCluster PG = VerifyFixture.archivingCluster(ARCHIVE);

  @TempDir
  Path tmp;

  private final CodecPipeline zstd = Pipelines.zstd(3);
  private Thread shipping;

  @BeforeAll
  static void data() {
    PG.sql("CREATE TABLE verify_probe AS SELECT g AS id FROM generate_series(1, 1000) g");
  }

  @AfterEach
  void stopShipping() throws InterruptedException {
    if (shipping != null) {
      shipping.interrupt();
      shipping.join();
    }
  }

  @AfterAll
  static void workDirIsEmpty() throws Exception {
    try (var left = Files.list(WORK)) {
      assertEquals(List.of(), left.toList(), "scratch directories left behind");
    }
  }

  private BackupManifest backup(Storage storage) throws Exception {
    shipping = new VerifyFixture.Shipper(ARCHIVE, storage, zstd).loop();
    try (BackupService service = VerifyFixture.backups(PG, storage, zstd)) {
      return service.create("verify test");
    }
  }

  private BackupVerifier verifier(Storage storage) {
    return new BackupVerifier(storage, VerifyFixture.LAYOUT, zstd,
        VerifyFixture.settings(PG, WORK, PROBE));
  }

  private static String sha256(Path file) throws Exception {
    return HexFormat.of().formatHex(DigestingInputStream.sha256().digest(Files.readAllBytes(file)));
  }

  @Test
  void aGoodBackupVerifiesAndRestoresToConsistencyWithItsRows() throws Exception {
    Path repo = tmp.resolve("repo");
    try (Storage storage = new FsStorage(Files.createDirectories(repo))) {
      BackupManifest m = backup(storage);
      BackupVerification v = verifier(storage).verify(m.id(), true);
      assertEquals(m.storedSha256(), v.storedSha256());
      assertEquals(m.plainSha256(), v.plainSha256());
      assertEquals(List.of("stored bytes SHA-256 and size match backup.json",
          "content SHA-256 and size match backup.json",
          "content SHA-256 and size match its metadata"), v.checks());
      assertEquals(m.walStartSegment(), v.walSegments().get(0));
      assertEquals(m.walStopSegment(), v.walSegments().get(v.walSegments().size() - 1));
      assertEquals("backup successfully verified", v.pgVerifybackup());
      assertTrue(v.restored());
      assertEquals("1000", v.probe());
      assertEquals(List.of("read and check " + m.dataKey(), "fetch and check WAL",
          "pg_verifybackup", "restore", "start to consistency", "probe", "stop"),
          List.copyOf(v.stepsMillis().keySet()));
      System.out.println("backup verify --restore of " + m.id() + ": " + v.stepsMillis()
          + ", total " + v.durationMillis() + " ms");
    }
  }

  @Test
  void aFlippedByteInTheStoredDataIsNamedWithBothChecksums() throws Exception {
    Path repo = tmp.resolve("repo");
    try (Storage storage = new FsStorage(Files.createDirectories(repo))) {
      BackupManifest m = backup(storage);
      Path file = repo.resolve(m.dataKey());
      try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
        f.seek(f.length() / 2);
        int b = f.read();
        f.seek(f.length() / 2);
        f.write(b ^ 0x01);
      }
      JobException e = assertThrows(JobException.class, () -> verifier(storage).verify(m.id(), false));
      assertEquals(JobException.Kind.VERIFICATION_FAILED, e.kind());
      assertEquals("backup " + m.id() + ": " + m.dataKey() + " is damaged: its stored bytes have"
          + " SHA-256 " + sha256(file) + " (" + m.storedSize() + " bytes), backup.json records "
          + m.storedSha256() + " (" + m.storedSize() + " bytes); the backup cannot be trusted:"
          + " take a new one (pgsidecar backup create) and find out what changed the stored object",
          e.getMessage());
    }
  }

  @Test
  void aMissingWalSegmentOfTheBackupIsNamed() throws Exception {
    Path repo = tmp.resolve("repo");
    try (Storage storage = new FsStorage(Files.createDirectories(repo))) {
      BackupManifest m = backup(storage);
      shipping.interrupt();
      shipping.join();
      assertTrue(storage.delete(VerifyFixture.LAYOUT.walKey(m.walStopSegment(), ".zst")));
      JobException e = assertThrows(JobException.class, () -> verifier(storage).verify(m.id(), false));
      assertEquals(JobException.Kind.VERIFICATION_FAILED, e.kind());
      assertEquals("backup " + m.id() + " needs WAL segment " + m.walStopSegment() + ", which is"
          + " missing from file://" + repo + "/test/db1/; without it the backup never becomes"
          + " consistent: take a new backup (pgsidecar backup create) and run pgsidecar wal verify",
          e.getMessage());
    }
  }

  /**
   * The data object and backup.json replaced by a consistent pair whose tar stops after its first
   * entries: every checksum matches, the tar itself is what is wrong.
   */
  @Test
  void aTruncatedTarIsNamedWhereItEnds() throws Exception {
    Path repo = tmp.resolve("repo");
    try (Storage storage = new FsStorage(Files.createDirectories(repo))) {
      BackupManifest m = backup(storage);
      byte[] tar;
      try (InputStream in = zstd.decode(storage.open(m.dataKey()).orElseThrow(), m.codec(),
          m.dataKey())) {
        tar = in.readAllBytes();
      }
      long cut = headerOffset(tar, 10);
      byte[] cutTar = java.util.Arrays.copyOf(tar, (int) cut);
      ByteArrayOutputStream stored = new ByteArrayOutputStream();
      try (OutputStream o = zstd.encode(stored)) {
        o.write(cutTar);
      }
      byte[] s = stored.toByteArray();
      String plainSha = HexFormat.of().formatHex(DigestingInputStream.sha256().digest(cutTar));
      String storedSha = HexFormat.of().formatHex(DigestingInputStream.sha256().digest(s));
      storage.delete(m.dataKey());
      storage.delete(VerifyFixture.LAYOUT.baseManifest(m.id()));
      storage.create(m.dataKey(), new ByteArrayInputStream(s),
          () -> new ObjectMetadata(plainSha, cutTar.length, zstd.name(), ""));
      byte[] json = new BackupManifest(1, m.id(), m.label(), m.cluster(), m.systemIdentifier(),
          m.pgVersion(), m.timeline(), m.startLsn(), m.stopLsn(), m.startTime(), m.stopTime(),
          cutTar.length, s.length, storedSha, plainSha, m.codec(), "", m.dataKey(),
          m.agentVersion(), m.walStartSegment(), m.walStopSegment()).toJson();
      storage.create(VerifyFixture.LAYOUT.baseManifest(m.id()), new ByteArrayInputStream(json),
          () -> new ObjectMetadata("", json.length, "", ""));
      JobException e = assertThrows(JobException.class, () -> verifier(storage).verify(m.id(), false));
      assertEquals(JobException.Kind.VERIFICATION_FAILED, e.kind());
      assertEquals("backup " + m.id() + ": " + m.dataKey() + " cannot be read back: archive "
          + m.dataKey() + " ends before its end-of-archive marker (after " + cut + " bytes): the"
          + " stored backup is truncated; pick another backup; the backup cannot be trusted: take a"
          + " new one (pgsidecar backup create) and find out what changed the stored object",
          e.getMessage());
    }
  }

  /** Byte offset of the {@code n}-th header (0-based) of a ustar stream. */
  private static long headerOffset(byte[] tar, int n) {
    long at = 0;
    for (int i = 0; i < n; i++) {
      String size = new String(tar, (int) at + 124, 12, java.nio.charset.StandardCharsets.US_ASCII)
          .trim().replace("\0", "");
      long bytes = size.isEmpty() ? 0 : Long.parseLong(size, 8);
      at += 512 + (bytes + 511) / 512 * 512;
    }
    return at;
  }

  @Test
  void anUnknownBackupIsNotFound() throws Exception {
    try (Storage storage = new FsStorage(Files.createDirectories(tmp.resolve("repo")))) {
      byte[] cluster = "{\"systemIdentifier\": \"1\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
      storage.create(VerifyFixture.LAYOUT.clusterJson(), new ByteArrayInputStream(cluster),
          () -> new ObjectMetadata("", cluster.length, "", ""));
      JobException e = assertThrows(JobException.class,
          () -> verifier(storage).verify("20200101T000000Z", false));
      assertEquals(JobException.Kind.NOT_FOUND, e.kind(), e.getMessage());
      assertEquals("backup 20200101T000000Z does not exist in file://" + tmp.resolve("repo")
          + "/test/db1/ (no test/db1/base/20200101T000000Z/backup.json); list the backups with"
          + " pgsidecar backup list", e.getMessage());
    }
  }

  @Test
  void walVerifyFindsTheGapMadeInARealArchive() throws Exception {
    Path repo = tmp.resolve("repo");
    try (Storage storage = new FsStorage(Files.createDirectories(repo))) {
      backup(storage);
      for (int i = 0; i < 4; i++) {
        PG.sql("INSERT INTO verify_probe SELECT 0 FROM generate_series(1, 10)");
        String seg = PG.switchWal();
        PG.awaitArchived(seg, Duration.ofSeconds(60));
      }
      shipping.interrupt();
      shipping.join();
      new VerifyFixture.Shipper(ARCHIVE, storage, zstd).shipNew();
      WalVerifier wal = new WalVerifier(storage, VerifyFixture.LAYOUT, zstd);
      WalReport whole = wal.verify();
      assertTrue(whole.ok(), whole.problems().toString());
      WalReport.Timeline t = whole.timelines().get(0);
      long n = Long.parseLong(t.last().substring(16), 16) - 1;
      String gone = String.format("00000001%08X%08X", 0, n);
      assertTrue(storage.delete(VerifyFixture.LAYOUT.walKey(gone, ".zst")));
      WalReport r = wal.verify();
      assertEquals(List.of("timeline 1: " + gone + " missing (1 segment)"), r.problems());
      assertEquals(1, r.missingSegments());
    }
  }

  @Test
  void aGoodBackupInAzuriteVerifies() throws Exception {
    try (Azurite azurite = Azurite.launch()) {
      String container = azurite.createContainer("verify");
      var azure = new PgsidecarConfig.Azure(PgsidecarConfig.AzureAuth.CONNECTION_STRING,
          Optional.of(azurite.connectionString()), Optional.empty(), Optional.empty(),
          Optional.empty(), Optional.empty(), container, AzureStorage.DEFAULT_BLOCK_SIZE,
          AzureStorage.DEFAULT_CONCURRENCY, Optional.empty());
      try (Storage storage = AzureStorage.open(new PgsidecarConfig.StorageConfig(
          PgsidecarConfig.StorageType.AZURE, "test", Optional.empty(), azure,
          Duration.ofSeconds(10), 2))) {
        BackupManifest m = backup(storage);
        BackupVerification v = verifier(storage).verify(m.id(), true);
        assertEquals("backup successfully verified", v.pgVerifybackup());
        assertEquals("1000", v.probe());
        assertFalse(v.walSegments().isEmpty());
      }
    }
  }

}
