package io.pgsidecar.core.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.wal.Lsn;
import io.pgsidecar.core.wal.WalFileName;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ArchiveCatalogTest {

  private final MemoryStorage storage = new MemoryStorage();
  private final RepositoryLayout layout = new RepositoryLayout("prod", "db1");
  private final ArchiveCatalog catalog = new ArchiveCatalog(storage, layout);

  private void put(String key, byte[] bytes) throws IOException {
    storage.create(key, new ByteArrayInputStream(bytes), () -> new ObjectMetadata("", bytes.length, "zstd", ""));
  }

  static BackupManifest manifest(String id, Instant stop, String startLsn, String stopLsn,
      String startSeg, String stopSeg) {
    return new BackupManifest(1, id, "", "db1", "7312345678901234567", 150010, 1, startLsn, stopLsn,
        stop.minusSeconds(5), stop, 100, 100, "", "", "zstd", "", "prod/db1/base/" + id + "/data.tar.zst",
        "test", startSeg, stopSeg);
  }

  @Test
  void onlyBackupsWithBackupJsonAreListedOldestFirst() throws IOException {
    put(layout.baseData("20261122T030000Z", ".zst"), new byte[1]); // unfinished: no backup.json
    put(layout.baseManifest("20261122T020000Z-1"), manifest("20261122T020000Z-1", Instant.parse(
        "2026-11-22T02:00:10Z"), "0/5000028", "0/5000100", "000000010000000000000005",
        "000000010000000000000005").toJson());
    put(layout.baseManifest("20261122T020000Z"), manifest("20261122T020000Z", Instant.parse(
        "2026-11-22T02:00:05Z"), "0/3000028", "0/3000100", "000000010000000000000003",
        "000000010000000000000003").toJson());
    assertEquals(java.util.List.of("20261122T020000Z", "20261122T020000Z-1"),
        catalog.backups().stream().map(BackupManifest::id).toList());
  }

  @Test
  void segmentsLeaveOutHistoryPartialAndBackupFilesAndSortByTimelineThenPosition() throws IOException {
    put(layout.walKey("000000020000000000000004", ".zst.pgp"), new byte[1]);
    put(layout.walKey("000000010000000000000004", ".zst"), new byte[1]);
    put(layout.walKey("000000010000000000000003", ".zst"), new byte[1]);
    put(layout.walKey("000000010000000000000004.partial", ".zst"), new byte[1]);
    put(layout.walKey("000000010000000000000003.00000028.backup", ".zst"), new byte[1]);
    put(layout.walKey("00000002.history", ".zst"), new byte[1]);
    put(layout.walKey("000000010000000000000005", ""), new byte[1]);
    assertEquals(java.util.List.of("000000010000000000000003", "000000010000000000000004",
        "000000010000000000000005", "000000020000000000000004"),
        catalog.segments().stream().map(s -> s.name().name()).toList());
    assertEquals(java.util.List.of(WalFileName.parse("00000002.history")), catalog.histories());
  }

  @Test
  void windowRunsFromTheEndOfTheOldestBackupToTheEndOfTheNewestSegment() throws IOException {
    assertEquals(Optional.empty(), catalog.window());
    Instant stop = Instant.parse("2026-11-22T02:00:05Z");
    put(layout.baseManifest("20261122T020000Z"), manifest("20261122T020000Z", stop, "0/3000028",
        "0/3000100", "000000010000000000000003", "000000010000000000000003").toJson());
    assertEquals(Optional.empty(), catalog.window(), "no WAL yet");
    put(layout.walKey("000000010000000000000003", ".zst"), new byte[1]);
    put(layout.walKey("000000010000000100000000", ".zst"), new byte[1]);
    ArchiveCatalog.Window w = catalog.window().orElseThrow();
    assertEquals(stop, w.firstTime());
    assertEquals(Lsn.parse("0/3000100"), w.firstLsn());
    assertEquals("000000010000000100000000", w.lastSegment());
    assertEquals(Lsn.parse("1/1000000"), w.lastLsn());
    assertEquals(2, w.segmentCount());
    assertTrue(w.describe().startsWith("from 2026-11-22T02:00:05Z (LSN 0/3000100, end of backup"
        + " 20261122T020000Z) to "), w.describe());
    assertTrue(w.describe().endsWith(" (LSN 1/1000000, end of WAL segment 000000010000000100000000)"),
        w.describe());
  }
}
