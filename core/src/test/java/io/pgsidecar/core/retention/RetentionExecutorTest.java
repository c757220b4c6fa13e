package io.pgsidecar.core.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.retention.History.Backup;
import io.pgsidecar.core.retention.History.Fork;
import io.pgsidecar.core.retention.History.Wal;
import io.pgsidecar.core.retention.Plan.Subject;
import io.pgsidecar.core.retention.RetentionPolicy.Gfs;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectMetadata;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RetentionExecutorTest {

  private static final RetentionPolicy KEEP_ONE = new RetentionPolicy(
      new KindPolicy(1, Optional.empty(), Gfs.NONE), KindPolicy.NONE, Duration.ofDays(3));

  private final History h = new History(Instant.parse("2026-03-01T00:00:00Z"), List.of(
      new Wal(5), new Backup(1, true, false), new Wal(5), new Fork(0), new Wal(5),
      new Backup(0, true, false), new Wal(5)));

  @Test
  void removesBackupsManifestFirstThenWalByPositionThenHistoryFiles() throws IOException {
    Recording r = new Recording(h.allKeys());
    Plan plan = RetentionPlanner.plan(h.listing(null, true), h.time, KEEP_ONE);
    RetentionExecutor.Outcome out = new RetentionExecutor(r.view, History.LAYOUT, (d, o, e) -> {}).apply(plan);
    String old = h.backups.get(0).id();
    assertEquals(List.of(
        History.LAYOUT.baseManifest(old), History.LAYOUT.baseData(old, ".zst"),
        "db1/wal/0000000100000000/000000010000000000000003.zst",
        "db1/wal/0000000100000000/000000010000000000000004.zst",
        "db1/wal/0000000100000000/000000010000000000000005.zst",
        "db1/wal/0000000100000000/000000010000000000000006.zst",
        "db1/wal/0000000200000000/000000020000000000000007.zst"), r.deleted);
    assertEquals(7, out.objects());
    assertEquals(10 + 1000 + 5 * 100, out.bytes());
    assertEquals(0, out.alreadyGone());
    assertEquals(1, out.items().get(Subject.BASE_BACKUP));
  }

  @Test
  void aFailureStopsTheRunLeavesTheRestAndTheNextRunFinishesTheSameWay() throws IOException {
    Recording once = new Recording(h.allKeys());
    new RetentionExecutor(once.view, History.LAYOUT, (d, o, e) -> {})
        .apply(RetentionPlanner.plan(h.listing(null, true), h.time, KEEP_ONE));

    Recording r = new Recording(h.allKeys());
    r.failAt = 3;
    JobException e = assertThrows(JobException.class, () -> new RetentionExecutor(r.view, History.LAYOUT,
        (d, o, x) -> {}).apply(RetentionPlanner.plan(h.listing(null, true), h.time, KEEP_ONE)));
    assertEquals(JobException.Kind.STORAGE_UNAVAILABLE, e.kind());
    assertEquals("retention stopped at db1/wal/0000000100000000/000000010000000000000004.zst in"
        + " memory://test: HTTP 503 from the store; 3 objects (1110 bytes) were removed before it,"
        + " everything else is in place; check the storage and run pgsidecar retention apply again,"
        + " it continues from there", e.getMessage());
    assertTrue(r.keys().contains("db1/wal/0000000100000000/000000010000000000000004.zst"));

    r.failAt = -1;
    RepositoryListing left = h.listing(r.keys(), true);
    new RetentionExecutor(r.view, History.LAYOUT, (d, o, x) -> {})
        .apply(RetentionPlanner.plan(left, h.time, KEEP_ONE));
    assertEquals(once.keys(), r.keys());
  }

  @Test
  void anObjectAlreadyGoneCountsAsDone() throws IOException {
    Recording r = new Recording(h.allKeys());
    Plan plan = RetentionPlanner.plan(h.listing(null, true), h.time, KEEP_ONE);
    r.storage.delete("db1/wal/0000000100000000/000000010000000000000005.zst");
    RetentionExecutor.Outcome out = new RetentionExecutor(r.view, History.LAYOUT, (d, o, e) -> {}).apply(plan);
    assertEquals(7, out.objects());
    assertEquals(1, out.alreadyGone());
  }

  @Test
  void aBackupMarkedPermanentAfterPlanningIsLeftInPlace() throws IOException {
    Recording r = new Recording(h.allKeys());
    Plan plan = RetentionPlanner.plan(h.listing(null, true), h.time, KEEP_ONE);
    String old = h.backups.get(0).id();
    r.storage.create(History.LAYOUT.baseKeepMark(old), new ByteArrayInputStream(new byte[1]),
        () -> new ObjectMetadata("", 1, "none", ""));
    RetentionExecutor.Outcome out = new RetentionExecutor(r.view, History.LAYOUT, (d, o, e) -> {}).apply(plan);
    assertEquals(1, out.skipped());
    assertTrue(r.keys().contains(History.LAYOUT.baseManifest(old)));
    assertFalse(r.deleted.contains(History.LAYOUT.baseData(old, ".zst")));
  }

  @Test
  void keepMarksAreTheirOwnObjectsCreatedAndDeletedNeverRewritten() throws IOException {
    MemoryStorage storage = new MemoryStorage();
    RepositoryLayout layout = History.LAYOUT;
    PermanentMarks marks = new PermanentMarks(storage, layout);
    String id = "20260301T000030Z";
    JobException missing = assertThrows(JobException.class,
        () -> marks.keep(PermanentMarks.Kind.BASE_BACKUP, id, "", Instant.EPOCH));
    assertEquals(JobException.Kind.NOT_FOUND, missing.kind());
    assertEquals("no complete base backup 20260301T000030Z in memory:// (db1/base/20260301T000030Z/backup.json"
        + " does not exist); pgsidecar backup list shows the ids", missing.getMessage().replaceAll("memory://\\S*", "memory://"));
    JobException bad = assertThrows(JobException.class,
        () -> marks.keep(PermanentMarks.Kind.DUMP, "../x", "", Instant.EPOCH));
    assertEquals(JobException.Kind.INVALID_INPUT, bad.kind());

    storage.create(layout.baseManifest(id), new ByteArrayInputStream(new byte[1]), () -> new ObjectMetadata("", 1, "none", ""));
    assertTrue(marks.keep(PermanentMarks.Kind.BASE_BACKUP, id, "before the \"v2\" upgrade", Instant.parse("2026-03-02T00:00:00Z")));
    byte[] first;
    try (var in = storage.open(layout.baseKeepMark(id)).orElseThrow()) {
      first = in.readAllBytes();
    }
    assertEquals("{\"formatVersion\":1,\"id\":\"20260301T000030Z\",\"markedAt\":\"2026-03-02T00:00:00Z\","
        + "\"note\":\"before the \\\"v2\\\" upgrade\"}\n", new String(first, StandardCharsets.UTF_8));
    assertFalse(marks.keep(PermanentMarks.Kind.BASE_BACKUP, id, "again", Instant.parse("2026-03-03T00:00:00Z")));
    try (var in = storage.open(layout.baseKeepMark(id)).orElseThrow()) {
      assertEquals(new String(first, StandardCharsets.UTF_8), new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    assertTrue(marks.isPermanent(PermanentMarks.Kind.BASE_BACKUP, id));
    assertTrue(marks.release(PermanentMarks.Kind.BASE_BACKUP, id));
    assertFalse(marks.release(PermanentMarks.Kind.BASE_BACKUP, id));
    assertFalse(marks.isPermanent(PermanentMarks.Kind.BASE_BACKUP, id));
  }

  @Test
  void theListingReaderReadsManifestsMarksAndHistoryContents() throws IOException {
    MemoryStorage storage = new MemoryStorage();
    RepositoryLayout layout = History.LAYOUT;
    String id = "20260301T000030Z";
    BackupManifest m = new BackupManifest(1, id, "", "db1", "1", 150010, 2, "0/5000028", "0/6000100",
        Instant.parse("2026-03-01T00:00:30Z"), Instant.parse("2026-03-01T00:05:00Z"), 1, 1, "", "", "zstd",
        "", layout.baseData(id, ".zst"), "t", "000000020000000000000005", "000000020000000000000006");
    put(storage, layout.baseManifest(id), m.toJson());
    put(storage, layout.baseData(id, ".zst"), new byte[3]);
    put(storage, layout.baseKeepMark(id), new byte[1]);
    put(storage, layout.baseData("20260302T000000Z", ".zst"), new byte[3]);
    put(storage, layout.walKey("00000002.history", ".zst"), "1\t0/5000000\tno recovery target specified\n".getBytes(StandardCharsets.UTF_8));
    put(storage, layout.walKey("000000020000000000000005", ".zst"), new byte[2]);
    RepositoryListing l = new ListingReader(storage, layout, o -> Optional.of(storage.open(o.key())
        .orElseThrow().readAllBytes())).read();
    assertEquals(2, l.backups().size());
    assertEquals(new RepositoryListing.BackupPoint(2, io.pgsidecar.core.wal.Lsn.parse("0/5000028"),
        io.pgsidecar.core.wal.Lsn.parse("0/6000100"), Instant.parse("2026-03-01T00:05:00Z")),
        l.backups().get(0).point().orElseThrow());
    assertTrue(l.backups().get(0).permanent());
    assertFalse(l.backups().get(1).complete());
    assertEquals(Optional.of(io.pgsidecar.core.wal.Lsn.parse("0/5000000")), l.histories().get(2L).leftAt(1));
    assertEquals(2, l.wal().size());
  }

  private static void put(MemoryStorage s, String key, byte[] b) throws IOException {
    s.create(key, new ByteArrayInputStream(b), () -> new ObjectMetadata("", b.length, "none", ""));
  }
}
