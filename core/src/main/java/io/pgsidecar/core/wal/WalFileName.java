package io.pgsidecar.core.wal;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A file name PostgreSQL hands to archive_command or asks of restore_command, validated once so
 * that nothing else has to trust a name: a 24-hex-digit segment ({@code 000000010000000000000003}),
 * a timeline history file ({@code 00000002.history}), a partial segment left at a timeline switch
 * ({@code ...003.partial}) or a backup history file ({@code ...003.00000028.backup}).
 *
 * <p>Segment numbers assume PostgreSQL's default 16 MiB segment size (256 segments per log id).
 * Timelines start at 1 ({@code 00000000} never names a timeline PostgreSQL writes), so a name on
 * timeline 0 is refused: it can only come from someone else than PostgreSQL.
 */
public record WalFileName(String name, Kind kind, long timeline, long log, long segment) {

  /** What kind of WAL archive file a name denotes. */
  public enum Kind { SEGMENT, HISTORY, PARTIAL, BACKUP }

  /** Segments per log id with 16 MiB segments: 0x1_0000_0000 / 0x100_0000. */
  public static final long SEGMENTS_PER_LOG = 0x100L;
  public static final long SEGMENT_SIZE = 16L * 1024 * 1024;
  /** Timelines and log ids are 32-bit: 8 hex digits in a name. */
  private static final long MAX_32 = 0xFFFF_FFFFL;

  private static final Pattern SEGMENT = Pattern.compile("([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})");
  private static final Pattern HISTORY = Pattern.compile("([0-9A-F]{8})\\.history");
  private static final Pattern PARTIAL = Pattern.compile("([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\\.partial");
  private static final Pattern BACKUP =
      Pattern.compile("([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\\.[0-9A-F]{8}\\.backup");

  /**
   * Parses {@code name} (a bare file name, no directory).
   *
   * @throws IllegalArgumentException naming the input and every accepted form
   */
  public static WalFileName parse(String name) {
    if (name == null) {
      throw new IllegalArgumentException("null is not a WAL file name");
    }
    Matcher m;
    if ((m = SEGMENT.matcher(name)).matches()) {
      return of(name, Kind.SEGMENT, m);
    }
    if ((m = HISTORY.matcher(name)).matches()) {
      return new WalFileName(name, Kind.HISTORY, timeline(name, m.group(1)), 0, 0);
    }
    if ((m = PARTIAL.matcher(name)).matches()) {
      return of(name, Kind.PARTIAL, m);
    }
    if ((m = BACKUP.matcher(name)).matches()) {
      return of(name, Kind.BACKUP, m);
    }
    throw new IllegalArgumentException(quote(name) + " is not a WAL file name: expected 24 hex digits"
        + " (segment), XXXXXXXX.history, <segment>.partial or <segment>.XXXXXXXX.backup"
        + " (upper-case hex)");
  }

  /** {@code true} when {@code name} would {@link #parse} without an exception. */
  public static boolean isValid(String name) {
    try {
      parse(name);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The segment on {@code timeline} with the given log id and segment number. */
  public static WalFileName segment(long timeline, long log, long segment) {
    if (timeline < 1 || timeline > MAX_32) {
      throw new IllegalArgumentException("timeline " + timeline + " is outside 1.." + MAX_32
          + " (00000001..FFFFFFFF)");
    }
    if (log < 0 || log > MAX_32) {
      throw new IllegalArgumentException("log id " + log + " is outside 0.." + MAX_32
          + " (00000000..FFFFFFFF)");
    }
    if (segment < 0 || segment >= SEGMENTS_PER_LOG) {
      throw new IllegalArgumentException("segment number " + segment + " is outside 0.."
          + (SEGMENTS_PER_LOG - 1) + " (16 MiB segments)");
    }
    String name = String.format(Locale.ROOT, "%08X%08X%08X", timeline, log, segment);
    return new WalFileName(name, Kind.SEGMENT, timeline, log, segment);
  }

  private static WalFileName of(String name, Kind kind, Matcher m) {
    long seg = Long.parseLong(m.group(3), 16);
    if (seg >= SEGMENTS_PER_LOG) {
      throw new IllegalArgumentException(quote(name) + " is not a WAL file name: segment number "
          + m.group(3) + " exceeds FF (16 MiB segments)");
    }
    return new WalFileName(name, kind, timeline(name, m.group(1)),
        Long.parseLong(m.group(2), 16), seg);
  }

  private static long timeline(String name, String hex) {
    long tli = Long.parseLong(hex, 16);
    if (tli == 0) {
      throw new IllegalArgumentException(quote(name) + " is not a WAL file name: timeline 00000000"
          + " does not exist (PostgreSQL's timelines start at 00000001)");
    }
    return tli;
  }

  /**
   * {@code name} in quotes for an error message, control characters escaped and a long one cut:
   * names come from outside (HTTP requests, pg_wal listings), messages go to logs.
   */
  static String quote(String name) {
    StringBuilder sb = new StringBuilder("'");
    int limit = Math.min(name.length(), 64);
    for (int i = 0; i < limit; i++) {
      char c = name.charAt(i);
      if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029) {
        sb.append(String.format(Locale.ROOT, "\\x%02X", (int) c));
      } else {
        sb.append(c);
      }
    }
    return name.length() > limit ? sb.append("...' (").append(name.length()).append(" characters)").toString()
        : sb.append('\'').toString();
  }

  public boolean isSegment() {
    return kind == Kind.SEGMENT;
  }

  public boolean isHistory() {
    return kind == Kind.HISTORY;
  }

  /** The 24-hex-digit segment this file belongs to (for a history file: not defined). */
  public String segmentName() {
    if (kind == Kind.HISTORY) {
      throw new IllegalStateException(name + " is a timeline history file, not part of a segment");
    }
    return name.substring(0, 24);
  }

  /** The segment after this one on the same timeline (only for segments). */
  public WalFileName next() {
    if (kind != Kind.SEGMENT) {
      throw new IllegalStateException(name + " is not a segment; only segments have a next one");
    }
    if (segment + 1 == SEGMENTS_PER_LOG && log == MAX_32) {
      throw new IllegalStateException(name + " is the last segment a timeline can have; there is"
          + " no next one");
    }
    return segment + 1 == SEGMENTS_PER_LOG
        ? segment(timeline, log + 1, 0)
        : segment(timeline, log, segment + 1);
  }

  /** Byte position in the WAL stream where this segment begins. */
  public Lsn startLsn() {
    return new Lsn(log * SEGMENTS_PER_LOG * SEGMENT_SIZE + segment * SEGMENT_SIZE);
  }

  @Override
  public String toString() {
    return name;
  }
}
