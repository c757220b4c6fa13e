package io.pgsidecar.core.verify;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What {@code pgsidecar wal verify} found: per timeline the span that must be complete, what is
 * there and every gap, plus problems that are not gaps (a timeline without its history file).
 *
 * @param archive where the archive lives, e.g. {@code file:///repo/db1/}
 * @param segmentSize bytes per segment and where that was read ({@link io.pgsidecar.core.repo.SegmentSize#source()})
 * @param from the oldest backup's id whose start segment opens the span; empty without backups
 * @param timelines one entry per timeline with a span to check, ascending
 * @param problems every gap and missing history file as a sentence; empty when the archive is whole
 * @param newestSegment the newest archived segment (highest timeline, then position); "" when none
 * @param newestArchivedAt when it was stored; empty when there is no segment
 */
public record WalReport(String archive, long segmentSize, String segmentSizeSource,
    Optional<String> from, List<Timeline> timelines, List<String> problems, String newestSegment,
    Optional<Instant> newestArchivedAt) {

  public WalReport {
    timelines = List.copyOf(timelines);
    problems = List.copyOf(problems);
  }

  /**
   * One timeline's span.
   *
   * @param first the first segment the span needs
   * @param last the last segment the span needs
   * @param present how many of them are stored
   * @param gaps the missing runs, in order
   * @param historyMissing whether the timeline's {@code .history} file is missing (timeline 2 on)
   */
  public record Timeline(long timeline, String first, String last, long present, List<Gap> gaps,
      boolean historyMissing) {

    public Timeline {
      gaps = List.copyOf(gaps);
    }

    public long missing() {
      return gaps.stream().mapToLong(Gap::count).sum();
    }
  }

  /** A run of missing segments on one timeline, {@code first..last} inclusive. */
  public record Gap(long timeline, String first, String last, long count) {

    /** {@code timeline 1: 000000010000000000000012..000000010000000000000015 missing (4 segments)}. */
    public String describe() {
      return "timeline " + timeline + ": " + (count == 1 ? first : first + ".." + last)
          + " missing (" + count + (count == 1 ? " segment)" : " segments)");
    }
  }

  public boolean ok() {
    return problems.isEmpty();
  }

  /** Every missing segment of every timeline. */
  public long missingSegments() {
    return timelines.stream().mapToLong(Timeline::missing).sum();
  }
}
