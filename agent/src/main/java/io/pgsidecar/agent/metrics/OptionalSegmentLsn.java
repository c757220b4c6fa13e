package io.pgsidecar.agent.metrics;

import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * The start LSN of a WAL segment from its file name ({@code TTTTTTTTLLLLLLLLSSSSSSSS}: timeline,
 * log, segment): {@code log << 32 | segment * segmentSize}. Only what the LSN gauge needs; the
 * full WAL name and LSN maths live in core's wal package.
 */
final class OptionalSegmentLsn {
  private static final Pattern SEGMENT = Pattern.compile("[0-9A-F]{24}");

  private OptionalSegmentLsn() {}

  /** Empty for anything that is not a plain segment name. */
  static OptionalLong of(String name, long segmentSize) {
    if (name == null || !SEGMENT.matcher(name).matches()) {
      return OptionalLong.empty();
    }
    long log = Long.parseLong(name.substring(8, 16), 16);
    long seg = Long.parseLong(name.substring(16, 24), 16);
    return OptionalLong.of((log << 32) | (seg * segmentSize));
  }
}
