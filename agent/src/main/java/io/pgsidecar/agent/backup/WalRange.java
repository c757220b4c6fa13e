package io.pgsidecar.agent.backup;

/**
 * One entry of {@code backup_manifest}'s {@code WAL-Ranges}: the WAL of {@code timeline} from
 * {@code startLsn} up to (not including) {@code endLsn} is needed to make the backup consistent.
 */
record WalRange(long timeline, long startLsn, long endLsn) {

  /**
   * The segments a restore needs for this range: the one holding the start up to the one holding
   * the last byte before the end. The server waits for the archiving of exactly these
   * (PostgreSQL's {@code XLByteToPrevSeg} on the stop position).
   */
  java.util.List<String> segments(long segmentSize) {
    long first = WalPositions.segmentNo(startLsn, segmentSize);
    long last = WalPositions.segmentNo(Math.max(startLsn, endLsn - 1), segmentSize);
    var out = new java.util.ArrayList<String>();
    for (long s = first; s <= last; s++) {
      out.add(WalPositions.segmentNameOf(timeline, s, segmentSize));
    }
    return out;
  }
}
