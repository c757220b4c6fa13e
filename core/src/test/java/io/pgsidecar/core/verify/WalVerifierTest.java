package io.pgsidecar.core.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.repo.SegmentSize;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.wal.Segments;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link WalVerifier} on hand-made archives: gaps named as ranges, timelines, segment sizes. */
class WalVerifierTest {

  private final MemoryStorage storage = new MemoryStorage();
  private final RepositoryLayout layout = new RepositoryLayout("", "db1");
  private final CodecPipeline zstd = Pipelines.zstd(1);
  private final Segments s16 = new Segments(Segments.DEFAULT_SIZE);

  private void put(String key, byte[] plain) throws Exception {
    ByteArrayOutputStream enc = new ByteArrayOutputStream();
    try (OutputStream o = zstd.encode(enc)) {
      o.write(plain);
    }
    storage.create(key, new ByteArrayInputStream(enc.toByteArray()),
        () -> new ObjectMetadata("", plain.length, zstd.name(), ""));
  }

  private void segments(Segments s, long tli, long from, long to) throws Exception {
    for (long n = from; n <= to; n++) {
      String name = s.name(tli, n);
      put(layout.walRoot() + name.substring(0, 16) + "/" + name + ".zst", new byte[] {1});
    }
  }

  private void history(long tli, String text) throws Exception {
    put(layout.walRoot() + String.format("%08X", tli) + ".history.zst",
        text.getBytes(StandardCharsets.UTF_8));
  }

  private void backup(String id, String startLsn, String stopLsn, String startSeg, String stopSeg)
      throws Exception {
    byte[] json = new BackupManifest(1, id, "", "db1", "1", 150010, 1, startLsn,
        stopLsn, Instant.parse("2026-12-05T10:00:00Z"), Instant.parse("2026-12-05T10:00:05Z"), 1, 1,
        "", "", "zstd", "", layout.baseData(id, ".zst"), "t", startSeg, stopSeg).toJson();
    storage.create(layout.baseManifest(id), new ByteArrayInputStream(json),
        () -> new ObjectMetadata("", json.length, "", ""));
  }

  private WalReport verify() {
    return new WalVerifier(storage, layout, zstd).verify();
  }

  @Test
  void aWholeArchiveFromTheOldestBackupOnIsOk() throws Exception {
    segments(s16, 1, 3, 9);
    backup("20261205T100000Z", "0/5000028", "0/5000100", "000000010000000000000005",
        "000000010000000000000005");
    WalReport r = verify();
    assertTrue(r.ok(), r.problems().toString());
    assertEquals(1, r.timelines().size());
    WalReport.Timeline t = r.timelines().get(0);
    assertEquals("000000010000000000000005", t.first());
    assertEquals("000000010000000000000009", t.last());
    assertEquals(5, t.present());
    assertEquals("000000010000000000000009", r.newestSegment());
    assertEquals("backup.json of 20261205T100000Z", r.segmentSizeSource());
  }

  @Test
  void aGapIsNamedAsARangeWithItsCount() throws Exception {
    segments(s16, 1, 0x10, 0x11);
    segments(s16, 1, 0x16, 0x18);
    backup("20261205T100000Z", "0/10000028", "0/10000100", "000000010000000000000010",
        "000000010000000000000010");
    WalReport r = verify();
    assertEquals(List.of("timeline 1: 000000010000000000000012..000000010000000000000015 missing"
        + " (4 segments)"), r.problems());
    assertEquals(4, r.missingSegments());
    JobException e = assertThrows(JobException.class, () -> WalVerifier.requireWhole(r));
    assertEquals(JobException.Kind.VERIFICATION_FAILED, e.kind());
    assertEquals("WAL archive memory://db1/ is not continuous: timeline 1:"
        + " 000000010000000000000012..000000010000000000000015 missing (4 segments); a restore"
        + " cannot replay past a missing segment: take a new base backup (pgsidecar backup create)"
        + " so that recovery starts after the gap, and find out why archiving skipped it",
        e.getMessage());
  }

  @Test
  void theBackupsOwnStartSegmentMissingIsAGapOfOne() throws Exception {
    segments(s16, 1, 6, 7);
    backup("20261205T100000Z", "0/5000028", "0/5000100", "000000010000000000000005",
        "000000010000000000000005");
    assertEquals(List.of("timeline 1: 000000010000000000000005 missing (1 segment)"),
        verify().problems());
  }

  @Test
  void theBackupsOwnWalMissingEntirelyIsAGap() throws Exception {
    segments(s16, 1, 2, 2);
    backup("20261205T100000Z", "0/5000028", "0/6000100", "000000010000000000000005",
        "000000010000000000000006");
    assertEquals(List.of("timeline 1: 000000010000000000000005..000000010000000000000006 missing"
        + " (2 segments)"), verify().problems());
  }

  @Test
  void aTimelineSwitchIsFollowedThroughItsHistoryFile() throws Exception {
    // timeline 1 up to 0/7800000 (segment 7 is only partial on 1), timeline 2 from segment 7
    segments(s16, 1, 2, 6);
    segments(s16, 2, 7, 9);
    history(2, "1\t0/7800000\tno recovery target specified\n");
    backup("20261205T100000Z", "0/2000028", "0/2000100", "000000010000000000000002",
        "000000010000000000000002");
    WalReport r = verify();
    assertTrue(r.ok(), r.problems().toString());
    assertEquals("000000010000000000000006", r.timelines().get(0).last());
    assertEquals("000000020000000000000007", r.timelines().get(1).first());
    assertEquals("000000020000000000000009", r.newestSegment());
  }

  @Test
  void aParentCutShortBeforeTheSwitchAndAMissingHistoryAreBothReported() throws Exception {
    segments(s16, 1, 2, 4);
    segments(s16, 2, 7, 8);
    segments(s16, 3, 9, 9);
    history(2, "1\t0/7800000\tno recovery target specified\n");
    backup("20261205T100000Z", "0/2000028", "0/2000100", "000000010000000000000002",
        "000000010000000000000002");
    assertEquals(List.of(
        "timeline 1: 000000010000000000000005..000000010000000000000006 missing (2 segments)",
        "timeline 3: 00000003.history missing (recovery cannot follow timeline 3 without it)"),
        verify().problems());
  }

  @Test
  void sixtyFourMegabyteSegmentsHaveNoGapAfterSegmentNumberThree() throws Exception {
    // with 64 MiB segments a log id holds 64 segments: ...00000003F is followed by ...100000000
    Segments s64 = new Segments(64L << 20);
    segments(s64, 1, 0x3E, 0x41);
    backup("20261205T100000Z", "0/F8000028", "0/F8000100", "00000001000000000000003E",
        "00000001000000000000003E");
    WalReport r = verify();
    assertTrue(r.ok(), r.problems().toString());
    assertEquals(64L << 20, r.segmentSize());
    assertEquals("000000010000000100000001", r.timelines().get(0).last());
    assertEquals(4, r.timelines().get(0).present());
  }

  @Test
  void withoutABackupEachTimelineIsCheckedFromItsOldestSegment() throws Exception {
    segments(s16, 1, 0x20, 0x21);
    segments(s16, 1, 0x23, 0x23);
    WalReport r = verify();
    assertEquals(List.of("timeline 1: 000000010000000000000022 missing (1 segment)"), r.problems());
    assertTrue(r.from().isEmpty());
    assertEquals("default", r.segmentSizeSource());
  }

  @Test
  void theSegmentSizeFromClusterJsonWins() throws Exception {
    storage.create(layout.clusterJson(), new ByteArrayInputStream(
        "{\"walSegmentSize\": 1048576}".getBytes(StandardCharsets.UTF_8)),
        () -> new ObjectMetadata("", 0, "", ""));
    Segments s1 = new Segments(1 << 20);
    segments(s1, 1, 0xFFE, 0x1001);
    WalReport r = verify();
    assertTrue(r.ok(), r.problems().toString());
    assertEquals("cluster.json", r.segmentSizeSource());
    assertEquals("000000010000000100000001", r.newestSegment());
  }
}
