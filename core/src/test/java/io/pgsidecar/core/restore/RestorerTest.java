package io.pgsidecar.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.restore.RecoveryTarget.Action;
import io.pgsidecar.core.restore.RecoveryTarget.Kind;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RestorerTest {

  @TempDir Path dir;

  private final MemoryStorage storage = new MemoryStorage();
  private final RepositoryLayout layout = new RepositoryLayout("", "db1");
  private final CodecPipeline pipeline = Pipelines.zstd(1);
  private final Restorer restorer = new Restorer(storage, new ArchiveCatalog(storage, layout), pipeline);
  private final RecoverySettings settings =
      new RecoverySettings("/pgsidecar/bin/wal-archiver", Optional.empty(), Optional.empty());

  /** Backups ended two and one hour ago; WAL stored now. */
  private final Instant older = Instant.now().minus(2, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
  private final Instant newer = older.plus(1, ChronoUnit.HOURS);

  private static final byte[] TAR = new TarBuilder().file("PG_VERSION", "15\n")
      .file("backup_label", "START WAL LOCATION: 0/3000028\n").file("base/1/1259", "x".repeat(2000)).end();

  private void put(String key, byte[] bytes) throws IOException {
    storage.create(key, new ByteArrayInputStream(bytes), () -> new ObjectMetadata("", bytes.length, "", ""));
  }

  private BackupManifest backup(String id, Instant stop, String stopLsn, String seg, byte[] tar,
      String plainShaOverride) throws Exception {
    return backup(pipeline, id, stop, stopLsn, seg, tar, plainShaOverride, stored -> stored);
  }

  /** {@code damage} changes the stored bytes before they are stored and their SHA-256 recorded. */
  private BackupManifest backup(CodecPipeline pipeline, String id, Instant stop, String stopLsn,
      String seg, byte[] tar, String plainShaOverride, java.util.function.UnaryOperator<byte[]> damage)
      throws Exception {
    ByteArrayOutputStream encoded = new ByteArrayOutputStream();
    try (OutputStream enc = pipeline.encode(encoded)) {
      enc.write(tar);
    }
    byte[] stored = damage.apply(encoded.toByteArray());
    String dataKey = layout.baseData(id, pipeline.suffix());
    put(dataKey, stored);
    BackupManifest m = new BackupManifest(1, id, "", "db1", "7312345678901234567", 150010, 1,
        stopLsn.replaceFirst("/.*", "/") + seg.substring(23) + "000028", stopLsn, stop.minusSeconds(3), stop,
        tar.length, stored.length, sha(stored),
        plainShaOverride != null ? plainShaOverride : sha(tar), pipeline.name(), "", dataKey, "test",
        seg, seg);
    put(layout.baseManifest(id), m.toJson());
    return m;
  }

  private void archive() throws Exception {
    backup("20261122T010000Z", older, "0/3000100", "000000010000000000000003", TAR, null);
    backup("20261122T020000Z", newer, "0/5000100", "000000010000000000000005", TAR, null);
    for (String s : new String[] {"3", "4", "5", "6"}) {
      put(layout.walKey("00000001000000000000000" + s, pipeline.suffix()), new byte[1]);
    }
  }

  private static String sha(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  private static RecoveryTarget target(Kind kind, String value) {
    return new RecoveryTarget(kind, value, false, Action.PROMOTE, "latest");
  }

  private Restorer.Request request(RecoveryTarget target, String backup) {
    return new Restorer.Request(new DataDirectory(dir.resolve("pgdata")), target,
        Optional.ofNullable(backup), settings);
  }

  /**
   * The WAL is listed on a second thread while the manifests are read: its failure is still the
   * plan's, with the storage's own message, and nothing is written.
   */
  @Test
  void aWalListingThatFailsFailsThePlanWithItsOwnError() throws Exception {
    archive();
    io.pgsidecar.core.storage.Storage failing = (io.pgsidecar.core.storage.Storage)
        java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {io.pgsidecar.core.storage.Storage.class}, (proxy, method, args) -> {
              if (method.getName().equals("list") && args[0].equals(layout.walRoot())) {
                throw new IOException("listing " + args[0] + " refused (403)");
              }
              try {
                return method.invoke(storage, args);
              } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
              }
            });
    Restorer r = new Restorer(failing, new ArchiveCatalog(failing, layout), pipeline);
    IOException e = assertThrows(IOException.class,
        () -> r.restore(request(target(Kind.LATEST, null), null)));
    assertEquals("listing " + layout.walRoot() + " refused (403)", e.getMessage());
    assertFalse(Files.exists(dir.resolve("pgdata")));
  }

  @Test
  void aTimeTargetUsesTheNewestBackupThatEndsBeforeIt() throws Exception {
    archive();
    assertEquals("20261122T010000Z", restorer.plan(target(Kind.TIME, older.plusSeconds(60).toString()),
        Optional.empty()).backup().id());
    assertEquals("20261122T020000Z", restorer.plan(target(Kind.TIME, newer.plusSeconds(1).toString()),
        Optional.of("latest")).backup().id());
  }

  @Test
  void anLsnTargetUsesTheNewestBackupWhoseStopLsnIsNotAfterIt() throws Exception {
    archive();
    assertEquals("20261122T010000Z", restorer.plan(target(Kind.LSN, "0/4000000"), Optional.empty()).backup().id());
    assertEquals("20261122T020000Z", restorer.plan(target(Kind.LSN, "0/5000100"), Optional.empty()).backup().id());
  }

  @Test
  void latestImmediateXidAndNameTargetsUseTheNewestBackup() throws Exception {
    archive();
    for (RecoveryTarget t : new RecoveryTarget[] {RecoveryTarget.latest(), target(Kind.IMMEDIATE, null),
        target(Kind.XID, "1234"), target(Kind.NAME, "before-upgrade")}) {
      assertEquals("20261122T020000Z", restorer.plan(t, Optional.empty()).backup().id(), t.toString());
    }
  }

  @Test
  void aNamedBackupIsUsedAndAnUnknownOrTooNewOneIsRefused() throws Exception {
    archive();
    assertEquals("20261122T010000Z", restorer.plan(RecoveryTarget.latest(),
        Optional.of("20261122T010000Z")).backup().id());
    IOException e = assertThrows(IOException.class, () -> restorer.plan(RecoveryTarget.latest(),
        Optional.of("20261122T030000Z")));
    assertEquals("backup 20261122T030000Z is not among the complete backups [20261122T010000Z,"
        + " 20261122T020000Z]; pick one of them or latest", e.getMessage());
    IOException e2 = assertThrows(IOException.class, () -> restorer.plan(target(Kind.LSN, "0/4000000"),
        Optional.of("20261122T020000Z")));
    assertEquals("backup 20261122T020000Z ends after the target (" + newer + ", LSN 0/5000100), so"
        + " replay cannot stop there; pick an older backup or latest", e2.getMessage());
  }

  @Test
  void aTargetTimeBeforeTheOldestBackupIsRefusedWithTheCoveredRangeAndNothingIsWritten() throws Exception {
    archive();
    Instant before = older.minusSeconds(1);
    IOException e = assertThrows(IOException.class,
        () -> restorer.restore(request(target(Kind.TIME, before.toString()), null)));
    assertTrue(e.getMessage().startsWith("target time " + before + " is before the end of the oldest"
        + " backup, so no backup can reach it; the archive covers from " + older
        + " (LSN 0/3000100, end of backup 20261122T010000Z) to "), e.getMessage());
    assertTrue(e.getMessage().endsWith(" (LSN 0/7000000, end of WAL segment 000000010000000000000006)"),
        e.getMessage());
    assertFalse(Files.exists(dir.resolve("pgdata")));
  }

  @Test
  void aTargetWithinTheSecondAfterAWholeSecondStorageTimestampIsAccepted() throws Exception {
    // Azure's Last-Modified has whole seconds: the segment was stored up to a second later.
    Instant stored = Instant.parse("2026-11-22T04:13:25Z");
    var w = new ArchiveCatalog.Window(stored.minusSeconds(60), io.pgsidecar.core.wal.Lsn.parse("0/3000100"),
        "20261122T041225Z", "000000010000000000000004", stored,
        io.pgsidecar.core.wal.Lsn.parse("0/5000000"), 4);
    Restorer.checkReachable(target(Kind.TIME, "2026-11-22T04:13:25.199521Z"), w);
    IOException e = assertThrows(IOException.class,
        () -> Restorer.checkReachable(target(Kind.TIME, "2026-11-22T04:13:26.5Z"), w));
    assertTrue(e.getMessage().startsWith("target time 2026-11-22T04:13:26.500Z is after the last"
        + " archived WAL segment"), e.getMessage());
  }

  @Test
  void aTargetAfterTheLastArchivedSegmentIsRefused() throws Exception {
    archive();
    Instant later = Instant.now().plus(1, ChronoUnit.HOURS);
    IOException e = assertThrows(IOException.class,
        () -> restorer.restore(request(target(Kind.TIME, later.toString()), null)));
    assertTrue(e.getMessage().startsWith("target time " + later + " is after the last archived WAL"
        + " segment, so replay cannot reach it; the archive covers from " + older), e.getMessage());
    IOException e2 = assertThrows(IOException.class,
        () -> restorer.restore(request(target(Kind.LSN, "0/7000001"), null)));
    assertTrue(e2.getMessage().startsWith("target LSN 0/7000001 is after the last archived WAL segment,"
        + " so replay cannot reach it; the archive covers from "), e2.getMessage());
    IOException e3 = assertThrows(IOException.class,
        () -> restorer.restore(request(target(Kind.LSN, "0/3000000"), null)));
    assertTrue(e3.getMessage().startsWith("target LSN 0/3000000 is before the end of the oldest backup"),
        e3.getMessage());
    assertFalse(Files.exists(dir.resolve("pgdata")));
  }

  @Test
  void anArchiveWithoutBackupOrWalIsRefused() throws Exception {
    IOException e = assertThrows(IOException.class, () -> restorer.plan(RecoveryTarget.latest(), Optional.empty()));
    assertEquals("no complete base backup in memory://db1/: take one (pgsidecar backup create), or"
        + " restore another cluster's archive (--from-cluster)", e.getMessage());
    backup("20261122T010000Z", older, "0/3000100", "000000010000000000000003", TAR, null);
    IOException e2 = assertThrows(IOException.class, () -> restorer.plan(RecoveryTarget.latest(), Optional.empty()));
    assertEquals("no WAL segment archived in memory://db1/: a base backup alone cannot be made"
        + " consistent; check archive_command", e2.getMessage());
  }

  @Test
  void aBackupWhoseWalIsMissingIsRefusedNamingTheSegment() throws Exception {
    backup("20261122T010000Z", older, "0/3000100", "000000010000000000000003", TAR, null);
    put(layout.walKey("000000010000000000000004", pipeline.suffix()), new byte[1]);
    IOException e = assertThrows(IOException.class,
        () -> restorer.restore(request(RecoveryTarget.latest(), null)));
    assertEquals("backup 20261122T010000Z needs WAL segment 000000010000000000000003 which is not in"
        + " memory://db1/; pick another backup (--backup)", e.getMessage());
    assertFalse(Files.exists(dir.resolve("pgdata")));
  }

  @Test
  void aRestoreUnpacksTheBackupWritesRecoverySettingsAndRemovesTheMarker() throws Exception {
    archive();
    Restorer.Result r = restorer.restore(request(target(Kind.LSN, "0/6000000"), null));
    Path pgdata = dir.resolve("pgdata");
    assertEquals("20261122T020000Z", r.backup().id());
    assertEquals(3, r.files());
    assertEquals(2000 + 3 + 30, r.bytes());
    assertEquals("x".repeat(2000), Files.readString(pgdata.resolve("base/1/1259")));
    assertTrue(Files.exists(pgdata.resolve("recovery.signal")));
    assertTrue(Files.readString(pgdata.resolve("postgresql.auto.conf"))
        .contains("recovery_target_lsn = '0/6000000'\n"));
    assertFalse(Files.exists(pgdata.resolve(DataDirectory.MARKER)));
    assertEquals(DataDirectory.State.HOLDS_SERVER, new DataDirectory(pgdata).state());
  }

  @Test
  void aChecksumMismatchFailsTheRestoreAndLeavesTheMarkerForACleanRetry() throws Exception {
    // not compressed: the plain tar's SHA-256 is what checks it
    CodecPipeline plain = Pipelines.plain();
    backup(plain, "20261122T010000Z", older, "0/3000100", "000000010000000000000003", TAR,
        "00".repeat(32), stored -> stored);
    put(layout.walKey("000000010000000000000003", plain.suffix()), new byte[1]);
    Restorer restorer = new Restorer(storage, new ArchiveCatalog(storage, layout), plain);
    IOException e = assertThrows(IOException.class,
        () -> restorer.restore(request(RecoveryTarget.latest(), null)));
    assertEquals("backup 20261122T010000Z: the unpacked tar of db1/base/20261122T010000Z/data.tar"
        + " have SHA-256 " + sha(TAR) + " but backup.json records " + "00".repeat(32)
        + "; the stored backup is corrupt and the data directory is unusable (the restore marker"
        + " stays, a new run starts over): pick another backup", e.getMessage());
    Path pgdata = dir.resolve("pgdata");
    assertFalse(Files.exists(pgdata.resolve("recovery.signal")));
    assertEquals(DataDirectory.State.UNFINISHED_RESTORE, new DataDirectory(pgdata).state());
  }

  @Test
  void aCompressedTarWhoseContentDiffersFromWhatWasCompressedFailsOnZstdsContentChecksum()
      throws Exception {
    // the stored bytes match backup.json (their SHA-256 is taken after the damage), but the
    // content checksum at the end of the zstd frame does not match the content: what a codec
    // fault would look like. The plain tar's SHA-256 is not computed for zstd backups; this is
    // the check that stands for it.
    backup(pipeline, "20261122T010000Z", older, "0/3000100", "000000010000000000000003", TAR, null,
        stored -> {
          byte[] d = stored.clone();
          d[d.length - 1] ^= 0x5a; // the last byte of the frame's XXH64 content checksum
          return d;
        });
    put(layout.walKey("000000010000000000000003", pipeline.suffix()), new byte[1]);
    IOException e = assertThrows(IOException.class,
        () -> restorer.restore(request(RecoveryTarget.latest(), null)));
    assertTrue(e.getMessage().contains("db1/base/20261122T010000Z/data.tar.zst"), e.getMessage());
    assertTrue(e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("checksum"), e.getMessage());
    Path pgdata = dir.resolve("pgdata");
    assertFalse(Files.exists(pgdata.resolve("recovery.signal")));
    assertEquals(DataDirectory.State.UNFINISHED_RESTORE, new DataDirectory(pgdata).state());
  }

  @Test
  void zstdBackupsAreCheckedByTheirContentChecksumOtherChainsByThePlainSha256() {
    assertTrue(Restorer.zstdChecked("zstd"));
    assertTrue(Restorer.zstdChecked("zstd+pgp"));
    assertFalse(Restorer.zstdChecked("pgp"));
    assertFalse(Restorer.zstdChecked(""));
    assertFalse(Restorer.zstdChecked("zstdx"));
  }

  @Test
  void aSegmentMissingBetweenTheBackupAndTheTargetIsRefusedNamingIt() throws Exception {
    archive();
    storage.delete(layout.walKey("000000010000000000000005", pipeline.suffix()));
    IOException e = assertThrows(IOException.class,
        () -> restorer.restore(request(target(Kind.LSN, "0/6000000"), "20261122T010000Z")));
    assertEquals("WAL segment 000000010000000000000005 is missing from memory://db1/ (the archive"
        + " jumps from 000000010000000000000004 to 000000010000000000000006): replay from backup"
        + " 20261122T010000Z would stop there, before the target; choose a target before it, or"
        + " put the segment back", e.getMessage());
    assertFalse(Files.exists(dir.resolve("pgdata")));
    IOException latest = assertThrows(IOException.class,
        () -> restorer.plan(RecoveryTarget.latest(), Optional.of("20261122T010000Z")));
    assertTrue(latest.getMessage().startsWith("WAL segment 000000010000000000000005 is missing"),
        latest.getMessage());
  }

  @Test
  void aGapAfterAnLsnTargetOrAnImmediateTargetDoesNotMatter() throws Exception {
    archive();
    storage.delete(layout.walKey("000000010000000000000005", pipeline.suffix()));
    assertEquals("20261122T010000Z", restorer.plan(target(Kind.LSN, "0/4FFFFFF"),
        Optional.empty()).backup().id());
    assertEquals("20261122T010000Z", restorer.plan(target(Kind.IMMEDIATE, null),
        Optional.of("20261122T010000Z")).backup().id());
  }

  /** A tar bigger than the pipe between the decoding and the unpacking thread. */
  private static byte[] bigTar(String... firstEntries) {
    var b = new TarBuilder();
    for (String name : firstEntries) {
      b.file(name, "15\n");
    }
    var random = new java.util.Random(5);
    var letters = new StringBuilder();
    for (int i = 0; i < 12 << 20; i++) {
      letters.append((char) ('a' + random.nextInt(26)));
    }
    return b.file("base/1/16384", letters.toString()).end();
  }

  private static void assertNoDecodingThreadLeft() {
    assertEquals(java.util.List.of(), Thread.getAllStackTraces().keySet().stream()
        .map(Thread::getName).filter(n -> n.startsWith(PipelinedUnpack.THREAD_PREFIX)).toList());
  }

  @Test
  void aTruncatedStoredObjectFailsTheRestoreNamingItAndStopsTheUnpacking() throws Exception {
    BackupManifest m = backup("20261122T010000Z", older, "0/3000100", "000000010000000000000003",
        bigTar("PG_VERSION"), null);
    put(layout.walKey("000000010000000000000003", pipeline.suffix()), new byte[1]);
    byte[] whole = storage.open(m.dataKey()).orElseThrow().readAllBytes();
    storage.delete(m.dataKey());
    put(m.dataKey(), java.util.Arrays.copyOf(whole, whole.length / 2));
    IOException e = assertThrows(IOException.class,
        () -> restorer.restore(request(RecoveryTarget.latest(), null)));
    assertEquals("object db1/base/20261122T010000Z/data.tar.zst is damaged: the zstd frame ends early"
        + " after " + whole.length / 2 + " stored bytes (truncated); this stored copy cannot be"
        + " restored: use another backup or copy of it", e.getMessage());
    assertNoDecodingThreadLeft();
    assertEquals(DataDirectory.State.UNFINISHED_RESTORE, new DataDirectory(dir.resolve("pgdata")).state());
  }

  /**
   * A read of the stored object that fails part-way (what a ranged GET that gives up after its
   * retries looks like to the restore): the error names the backup, the object and how far it
   * got, every restore thread ends, and the directory keeps its marker and no PG_VERSION, so it
   * never looks like a finished restore and the next run clears it and starts over.
   */
  @Test
  void aStoredObjectWhoseReadFailsMidwayFailsTheRestoreNamingItAndLeavesNothingThatLooksComplete()
      throws Exception {
    // PG_VERSION first in the tar, so that it would be there already if it were not held back
    BackupManifest m = backup("20261122T010000Z", older, "0/3000100", "000000010000000000000003",
        bigTar("PG_VERSION", "global/pg_control"), null);
    put(layout.walKey("000000010000000000000003", pipeline.suffix()), new byte[1]);
    long failAt = m.storedSize() / 2;
    var failing = new io.pgsidecar.core.storage.Storage() {
      @Override
      public io.pgsidecar.core.storage.ObjectInfo create(String key, java.io.InputStream content,
          java.util.function.Supplier<ObjectMetadata> metadata) throws IOException {
        return storage.create(key, content, metadata);
      }

      @Override
      public Optional<io.pgsidecar.core.storage.ObjectInfo> stat(String key) throws IOException {
        return storage.stat(key);
      }

      @Override
      public Optional<java.io.InputStream> open(String key) throws IOException {
        if (!key.equals(m.dataKey())) {
          return storage.open(key);
        }
        var whole = storage.open(key).orElseThrow();
        return Optional.of(new java.io.FilterInputStream(whole) {
          long read;

          @Override
          public int read(byte[] b, int off, int len) throws IOException {
            if (read >= failAt) {
              throw new io.pgsidecar.core.storage.StorageException("GET " + key + " bytes="
                  + read + "-: connection reset");
            }
            int n = in.read(b, off, (int) Math.min(len, failAt - read));
            read += Math.max(n, 0);
            return n;
          }
        });
      }

      @Override
      public java.util.stream.Stream<io.pgsidecar.core.storage.ObjectInfo> list(String prefix)
          throws IOException {
        return storage.list(prefix);
      }

      @Override
      public boolean delete(String key) throws IOException {
        return storage.delete(key);
      }

      @Override
      public void probe() throws IOException {
        storage.probe();
      }

      @Override
      public String describe() {
        return storage.describe();
      }
    };
    var r = new Restorer(failing, new ArchiveCatalog(failing, layout), pipeline);
    IOException e = assertThrows(IOException.class,
        () -> r.restore(request(RecoveryTarget.latest(), null)));
    assertEquals("backup 20261122T010000Z: reading db1/base/20261122T010000Z/data.tar.zst from"
        + " storage failed after " + failAt + " of " + m.storedSize() + " bytes: GET"
        + " db1/base/20261122T010000Z/data.tar.zst bytes=" + failAt + "-: connection reset;"
        + " nothing restored is usable (the restore marker stays, a new run starts over): check"
        + " the storage and run the restore again", e.getMessage());
    assertNoDecodingThreadLeft();
    Path pgdata = dir.resolve("pgdata");
    assertFalse(Files.exists(pgdata.resolve("PG_VERSION")), "PG_VERSION comes last");
    assertFalse(Files.exists(pgdata.resolve("recovery.signal")));
    assertEquals(DataDirectory.State.UNFINISHED_RESTORE, new DataDirectory(pgdata).state());
    // the next run, with the storage back, clears what was written and restores it whole
    restorer.restore(request(RecoveryTarget.latest(), null));
    assertEquals(12 << 20, Files.size(pgdata.resolve("base/1/16384")));
    assertEquals(DataDirectory.State.HOLDS_SERVER, new DataDirectory(pgdata).state());
  }

  @Test
  void aFileThatCannotBeWrittenFailsTheRestoreAndStopsTheDecoding() throws Exception {
    // global/pg_control twice: the second cannot be created; 12 MiB follow, so the decoder is
    // blocked on a full pipe when the unpacking side gives up.
    backup("20261122T010000Z", older, "0/3000100", "000000010000000000000003",
        bigTar("PG_VERSION", "global/pg_control", "global/pg_control"), null);
    put(layout.walKey("000000010000000000000003", pipeline.suffix()), new byte[1]);
    var e = assertThrows(IOException.class,
        () -> restorer.restore(request(RecoveryTarget.latest(), null)));
    assertEquals("archive db1/base/20261122T010000Z/data.tar.zst: entry 'global/pg_control' exists"
        + " already in the data directory (the archive holds that name twice); refusing to replace"
        + " it", e.getMessage());
    assertNoDecodingThreadLeft();
    assertFalse(Files.exists(dir.resolve("pgdata/PG_VERSION")), "PG_VERSION comes last");
    assertEquals(DataDirectory.State.UNFINISHED_RESTORE, new DataDirectory(dir.resolve("pgdata")).state());
  }

  @Test
  void aBackupWithoutPgVersionIsNotADataDirectory() throws Exception {
    backup("20261122T010000Z", older, "0/3000100", "000000010000000000000003",
        new TarBuilder().file("global/pg_control", "c").end(), null);
    put(layout.walKey("000000010000000000000003", pipeline.suffix()), new byte[1]);
    var e = assertThrows(IOException.class,
        () -> restorer.restore(request(RecoveryTarget.latest(), null)));
    assertEquals("backup 20261122T010000Z: db1/base/20261122T010000Z/data.tar.zst holds no"
        + " PG_VERSION, so it is not a PostgreSQL data directory (the restore marker stays, a new"
        + " run starts over): pick another backup", e.getMessage());
    assertFalse(Files.exists(dir.resolve("pgdata/recovery.signal")));
  }

  @Test
  void anInterruptedRestoreIsClearedAndDoneAgainByTheNextRun() throws Exception {
    archive();
    Path pgdata = dir.resolve("pgdata");
    // what a pod killed mid-unpack leaves: the marker and part of the files, no PG_VERSION
    new DataDirectory(pgdata).prepare();
    Files.createDirectories(pgdata.resolve("base/1"));
    Files.writeString(pgdata.resolve("base/1/1259"), "half");
    Files.writeString(pgdata.resolve("stray"), "left by the killed run");
    restorer.restore(request(RecoveryTarget.latest(), null));
    assertEquals("x".repeat(2000), Files.readString(pgdata.resolve("base/1/1259")));
    assertFalse(Files.exists(pgdata.resolve("stray")));
    assertEquals("15\n", Files.readString(pgdata.resolve("PG_VERSION")));
    assertEquals(DataDirectory.State.HOLDS_SERVER, new DataDirectory(pgdata).state());
  }

  /**
   * The escape the lexical check let through: d/up -> .. "stays inside" on paper (pgdata/d/..),
   * and postgresql.auto.conf -> d/up/../outside/passwd too (pgdata/d/outside/passwd); on disk
   * d/up is pgdata itself, so the recovery settings were written into dir/outside/passwd.
   */
  @Test
  void aBackupWhoseLinksClimbOutOfTheDataDirectoryNeverWritesOutside() throws Exception {
    Path victim = Files.createDirectories(dir.resolve("outside")).resolve("passwd");
    Files.writeString(victim, "root:x:0:0\n");
    backup("20261122T010000Z", older, "0/3000100", "000000010000000000000003",
        new TarBuilder().file("PG_VERSION", "15\n").dir("d").symlink("d/up", "..")
            .symlink("postgresql.auto.conf", "d/up/../outside/passwd").end(), null);
    put(layout.walKey("000000010000000000000003", pipeline.suffix()), new byte[1]);
    IOException e = assertThrows(IOException.class,
        () -> restorer.restore(request(RecoveryTarget.latest(), null)));
    assertEquals("archive db1/base/20261122T010000Z/data.tar.zst: symlink 'd/up' points to '..',"
        + " which climbs out of its directory with '..'; refusing (a link in a restored data"
        + " directory may only point below its own directory)", e.getMessage());
    assertEquals("root:x:0:0\n", Files.readString(victim));
    assertFalse(Files.exists(dir.resolve("pgdata/recovery.signal")));
  }
}
