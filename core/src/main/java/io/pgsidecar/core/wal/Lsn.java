package io.pgsidecar.core.wal;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A log sequence number: a byte position in the WAL stream, written by PostgreSQL as two hex
 * halves {@code 0/3000028}. Compared unsigned, as PostgreSQL does.
 */
public record Lsn(long value) implements Comparable<Lsn> {

  private static final Pattern TEXT = Pattern.compile("[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}");

  /** Parses {@code 0/3000028}. */
  public static Lsn parse(String text) {
    if (text == null || !TEXT.matcher(text).matches()) {
      throw new IllegalArgumentException("'" + text + "' is not an LSN: expected two hex numbers of"
          + " at most 8 digits joined by '/', e.g. 0/3000028");
    }
    int slash = text.indexOf('/');
    long hi = Long.parseLong(text.substring(0, slash), 16);
    long lo = Long.parseLong(text.substring(slash + 1), 16);
    return new Lsn((hi << 32) | lo);
  }

  /** The segment that holds this position on {@code timeline} (16 MiB segments). */
  public WalFileName segmentOn(long timeline) {
    long segNo = Long.divideUnsigned(value, WalFileName.SEGMENT_SIZE);
    return WalFileName.segment(timeline, segNo / WalFileName.SEGMENTS_PER_LOG,
        segNo % WalFileName.SEGMENTS_PER_LOG);
  }

  @Override
  public int compareTo(Lsn o) {
    return Long.compareUnsigned(value, o.value);
  }

  public boolean isAfter(Lsn o) {
    return compareTo(o) > 0;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%X/%X", value >>> 32, value & 0xFFFFFFFFL);
  }
}
