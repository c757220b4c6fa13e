package io.pgsidecar.agent.backup;

/**
 * LSN text and WAL file names for any {@code wal_segment_size} (initdb --wal-segsize), just what
 * the backup needs to know which segments must be archived. {@code core.wal.Lsn} assumes 16 MiB
 * segments; this reads the server's real size.
 */
final class WalPositions {

  private WalPositions() {}

  /** Parses PostgreSQL's {@code X/Y} form (two hex halves) into a 64-bit position. */
  static long parseLsn(String text) {
    int slash = text == null ? -1 : text.indexOf('/');
    if (slash <= 0 || slash == text.length() - 1) {
      throw new IllegalArgumentException("'" + text + "' is not an LSN (expected like 0/2000028)");
    }
    long hi = Long.parseLong(text.substring(0, slash), 16);
    long lo = Long.parseLong(text.substring(slash + 1), 16);
    if (hi > 0xFFFFFFFFL || lo > 0xFFFFFFFFL) {
      throw new IllegalArgumentException("'" + text + "' is not an LSN: a half exceeds 32 bits");
    }
    return (hi << 32) | lo;
  }

  static String formatLsn(long lsn) {
    return Long.toHexString(lsn >>> 32).toUpperCase() + "/"
        + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
  }

  /** Name of the WAL segment file of {@code timeline} holding byte {@code lsn}. */
  static String segmentName(long timeline, long lsn, long segmentSize) {
    return segmentNameOf(timeline, Long.divideUnsigned(lsn, segmentSize), segmentSize);
  }

  /** Segment number holding {@code lsn}. */
  static long segmentNo(long lsn, long segmentSize) {
    return Long.divideUnsigned(lsn, segmentSize);
  }

  static String segmentNameOf(long timeline, long segNo, long segmentSize) {
    long perId = 0x100000000L / segmentSize;
    return String.format("%08X%08X%08X", timeline, segNo / perId, segNo % perId);
  }
}
