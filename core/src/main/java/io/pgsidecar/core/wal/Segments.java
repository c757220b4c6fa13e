package io.pgsidecar.core.wal;

import java.util.Locale;
import java.util.Optional;

/**
 * WAL segment names for any {@code wal_segment_size} ({@code initdb --wal-segsize}, 1 MiB to
 * 1 GiB): a name is timeline, log id and the segment's number within the log id, each 8 hex
 * digits, and a log id holds {@code 4 GiB / segment size} segments. {@code WalFileName} assumes
 * 16 MiB; the verifier must not, or an archive written with 64 MiB segments would show a gap
 * after every fourth segment number.
 *
 * @param size bytes per segment, a power of two
 */
public record Segments(long size) {

  public static final long DEFAULT_SIZE = 16L * 1024 * 1024;
  private static final long LOG_SIZE = 0x1_0000_0000L;

  public Segments {
    if (size < (1 << 20) || size > (1L << 30) || Long.bitCount(size) != 1) {
      throw new IllegalArgumentException("WAL segment size " + size + " is not a power of two"
          + " between 1 MiB and 1 GiB (initdb --wal-segsize)");
    }
  }

  public long perLog() {
    return LOG_SIZE / size;
  }

  /** The segment number holding byte position {@code lsn}. */
  public long segmentNo(long lsn) {
    return Long.divideUnsigned(lsn, size);
  }

  /** The 24-hex-digit name of segment {@code segmentNo} on {@code timeline}. */
  public String name(long timeline, long segmentNo) {
    return String.format(Locale.ROOT, "%08X%08X%08X", timeline, segmentNo / perLog(),
        segmentNo % perLog());
  }

  /** A stored segment: its timeline and segment number. */
  public record Segment(long timeline, long number) {}

  /**
   * The segment a stored WAL key holds: 24 hex digits followed only by a codec suffix
   * ({@code .zst}, {@code .pgp}, ...); empty for history, {@code .partial} and {@code .backup}
   * files and for a name that is not a segment of this size.
   */
  public Optional<Segment> ofKey(String key) {
    String file = key.substring(key.lastIndexOf('/') + 1);
    if (file.length() < 24) {
      return Optional.empty();
    }
    String rest = file.substring(24);
    if (!rest.isEmpty() && !rest.startsWith(".zst") && !rest.startsWith(".pgp")) {
      return Optional.empty();
    }
    return ofName(file.substring(0, 24));
  }

  /** Parses a bare 24-hex-digit segment name (upper case, as PostgreSQL writes it). */
  public Optional<Segment> ofName(String name) {
    if (name.length() != 24 || !name.matches("[0-9A-F]{24}")) {
      return Optional.empty();
    }
    long tli = Long.parseLong(name.substring(0, 8), 16);
    long log = Long.parseLong(name.substring(8, 16), 16);
    long seg = Long.parseLong(name.substring(16, 24), 16);
    if (tli == 0 || seg >= perLog()) {
      return Optional.empty();
    }
    return Optional.of(new Segment(tli, log * perLog() + seg));
  }
}
