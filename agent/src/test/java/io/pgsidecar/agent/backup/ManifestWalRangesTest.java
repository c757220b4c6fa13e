package io.pgsidecar.agent.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestWalRangesTest {

  /** Shape of a PostgreSQL 15 backup_manifest (abridged). */
  static final String MANIFEST = """
      { "PostgreSQL-Backup-Manifest-Version": 1,
      "Files": [
      { "Path": "backup_label", "Size": 225, "Last-Modified": "2026-11-22 02:15:00 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "c1fd6a5b" },
      { "Path": "global/pg_control", "Size": 8192, "Last-Modified": "2026-11-22 02:15:00 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "9b3c1a27" }
      ],
      "WAL-Ranges": [
      { "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/3000100" },
      { "Timeline": 2, "Start-LSN": "0/3000100", "End-LSN": "1/2" }
      ],
      "Manifest-Checksum": "8e4b1d..."}
      """;

  @Test
  void walRangesAreReadByteByByte() throws Exception {
    var p = new ManifestWalRanges();
    byte[] b = MANIFEST.getBytes(StandardCharsets.UTF_8);
    byte[] one = new byte[1];
    for (byte x : b) {
      one[0] = x;
      p.data(one, 0, 1);
    }
    p.end();
    assertEquals(List.of(new WalRange(1, 0x2000028L, 0x3000100L),
        new WalRange(2, 0x3000100L, 0x100000002L)), p.ranges());
  }

  @Test
  void segmentsRunFromStartToTheByteBeforeTheEnd() {
    long seg = 16L << 20;
    assertEquals(List.of("000000010000000000000002"),
        new WalRange(1, 0x2000028L, 0x2000100L).segments(seg));
    // an end exactly on a boundary does not need the next segment
    assertEquals(List.of("000000010000000000000002"),
        new WalRange(1, 0x2000028L, 0x3000000L).segments(seg));
    assertEquals(List.of("0000000100000000000000FF", "000000010000000100000000"),
        new WalRange(1, 0xFF000028L, 0x100000100L).segments(seg));
    // 64 MiB segments: 64 per log file
    assertEquals(List.of("00000001000000000000003F", "000000010000000100000000"),
        new WalRange(1, 0xFC000000L, 0x100000001L).segments(64L << 20));
  }

  @Test
  void manifestWithoutWalRangesIsRefused() throws Exception {
    var p = new ManifestWalRanges();
    byte[] b = "{\"PostgreSQL-Backup-Manifest-Version\": 1, \"Files\": []}".getBytes();
    p.data(b, 0, b.length);
    var e = assertThrows(IOException.class, p::end);
    assertEquals("backup_manifest has no WAL-Ranges; cannot tell which WAL the backup needs",
        e.getMessage());
  }

  @Test
  void lsnTextRoundTrips() {
    assertEquals(0x100000002L, WalPositions.parseLsn("1/2"));
    assertEquals("1/2", WalPositions.formatLsn(0x100000002L));
    assertEquals("0/2000028", WalPositions.formatLsn(WalPositions.parseLsn("0/2000028")));
  }

  @Test
  void aSegmentCountsAsArchivedWhateverCodecItWasStoredWith() {
    assertEquals(java.util.Optional.of("000000010000000000000002"),
        WalArrival.storedSegment("000000010000000000000002.zst"));
    assertEquals(java.util.Optional.of("000000010000000000000002"),
        WalArrival.storedSegment("000000010000000000000002.zst.pgp"));
    assertEquals(java.util.Optional.of("000000010000000000000002"),
        WalArrival.storedSegment("000000010000000000000002"));
    assertEquals(java.util.Optional.empty(),
        WalArrival.storedSegment("000000010000000000000002.partial.zst"));
    assertEquals(java.util.Optional.empty(),
        WalArrival.storedSegment("000000010000000000000002.00000028.backup.zst"));
  }
}
