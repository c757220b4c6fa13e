package io.pgsidecar.core.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WalFileNameTest {

  @Test
  void segmentNameSplitsIntoTimelineLogAndSegment() {
    WalFileName n = WalFileName.parse("0000000200000001000000FE");
    assertEquals(WalFileName.Kind.SEGMENT, n.kind());
    assertEquals(2, n.timeline());
    assertEquals(1, n.log());
    assertEquals(0xFE, n.segment());
  }

  @Test
  void historyPartialAndBackupNamesAreAccepted() {
    assertEquals(WalFileName.Kind.HISTORY, WalFileName.parse("00000002.history").kind());
    assertEquals(2, WalFileName.parse("00000002.history").timeline());
    WalFileName partial = WalFileName.parse("000000010000000000000003.partial");
    assertEquals(WalFileName.Kind.PARTIAL, partial.kind());
    assertEquals("000000010000000000000003", partial.segmentName());
    WalFileName backup = WalFileName.parse("000000010000000000000003.00000028.backup");
    assertEquals(WalFileName.Kind.BACKUP, backup.kind());
    assertEquals(3, backup.segment());
  }

  @Test
  void pathTraversalIsNotAWalFileName() {
    var e = assertThrows(IllegalArgumentException.class, () -> WalFileName.parse("../x"));
    assertEquals("'../x' is not a WAL file name: expected 24 hex digits (segment),"
        + " XXXXXXXX.history, <segment>.partial or <segment>.XXXXXXXX.backup (upper-case hex)",
        e.getMessage());
  }

  @Test
  void lowerCaseShortAndLongNamesAreRefused() {
    assertFalse(WalFileName.isValid("00000001000000000000000a"));
    assertFalse(WalFileName.isValid("00000001000000000000000"));
    assertFalse(WalFileName.isValid("0000000100000000000000001"));
    assertFalse(WalFileName.isValid("RECOVERYXLOG"));
    assertFalse(WalFileName.isValid("000000010000000000000003.ready"));
    assertFalse(WalFileName.isValid(""));
    assertTrue(WalFileName.isValid("000000010000000000000003"));
  }

  @Test
  void timelineZeroIsRefusedInEveryForm() {
    for (String n : new String[] {"000000000000000000000003", "00000000.history",
        "000000000000000000000003.partial", "000000000000000000000003.00000028.backup"}) {
      var e = assertThrows(IllegalArgumentException.class, () -> WalFileName.parse(n));
      assertEquals("'" + n + "' is not a WAL file name: timeline 00000000 does not exist"
          + " (PostgreSQL's timelines start at 00000001)", e.getMessage());
    }
    assertTrue(WalFileName.isValid("00000001.history"));
  }

  @Test
  void segmentNumberAbove255IsRefusedFor16MiBSegments() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> WalFileName.parse("000000010000000000000100"));
    assertEquals("'000000010000000000000100' is not a WAL file name: segment number 00000100"
        + " exceeds FF (16 MiB segments)", e.getMessage());
  }

  @Test
  void nextSegmentWrapsIntoTheNextLogId() {
    assertEquals("000000010000000000000004",
        WalFileName.parse("000000010000000000000003").next().name());
    assertEquals("000000010000000200000000",
        WalFileName.parse("0000000100000001000000FF").next().name());
  }

  @Test
  void historyFileHasNoNextSegment() {
    var e = assertThrows(IllegalStateException.class,
        () -> WalFileName.parse("00000002.history").next());
    assertEquals("00000002.history is not a segment; only segments have a next one", e.getMessage());
  }

  @Test
  void segmentStartLsnMatchesPostgresArithmetic() {
    assertEquals("0/3000000", WalFileName.parse("000000010000000000000003").startLsn().toString());
    assertEquals("1/FF000000", WalFileName.parse("0000000100000001000000FF").startLsn().toString());
  }

  /** Regression: segment() built names parse() refuses (timeline 0, 9+ hex digits). */
  @Test
  void segmentsAreOnlyBuiltForTimelinesAndLogIdsANameCanHold() {
    var e = assertThrows(IllegalArgumentException.class, () -> WalFileName.segment(0, 0, 1));
    assertEquals("timeline 0 is outside 1..4294967295 (00000001..FFFFFFFF)", e.getMessage());
    var e2 = assertThrows(IllegalArgumentException.class, () -> WalFileName.segment(1, 0x1_0000_0000L, 0));
    assertEquals("log id 4294967296 is outside 0..4294967295 (00000000..FFFFFFFF)", e2.getMessage());
    var e3 = assertThrows(IllegalStateException.class,
        () -> WalFileName.parse("00000001FFFFFFFF000000FF").next());
    assertEquals("00000001FFFFFFFF000000FF is the last segment a timeline can have; there is no"
        + " next one", e3.getMessage());
  }

  /** Names come from requests and directory listings; messages go to logs. */
  @Test
  void aNameIsQuotedWithControlCharactersEscapedAndCutWhenLong() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> WalFileName.parse("000000010000000000000003\nERROR forged"));
    assertTrue(e.getMessage().startsWith("'000000010000000000000003\\x0AERROR forged' is not a WAL"
        + " file name"), e.getMessage());
    var e2 = assertThrows(IllegalArgumentException.class, () -> WalFileName.parse("A".repeat(100_000)));
    assertTrue(e2.getMessage().startsWith("'" + "A".repeat(64) + "...' (100000 characters) is not a WAL"
        + " file name"), e2.getMessage());
  }
}
