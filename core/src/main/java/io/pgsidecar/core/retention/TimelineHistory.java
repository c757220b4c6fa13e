package io.pgsidecar.core.retention;

import io.pgsidecar.core.wal.Lsn;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The contents of a timeline history file ({@code 00000003.history}): the timelines this one
 * descends from, each with the LSN where the line of descent left it. PostgreSQL writes one line
 * per ancestor, {@code <parent tli>\t<switch lsn>\t<reason>}, oldest first.
 *
 * @param timeline the timeline the file describes
 * @param ancestors its ancestors, oldest first
 */
public record TimelineHistory(long timeline, List<Switch> ancestors) {

  /** Timeline {@code timeline} was left at {@code at} (the next timeline of the line starts there). */
  public record Switch(long timeline, Lsn at) {}

  public TimelineHistory {
    ancestors = List.copyOf(ancestors);
  }

  /** Where the line of descent left {@code ancestor}, or empty when it is not an ancestor. */
  public Optional<Lsn> leftAt(long ancestor) {
    return ancestors.stream().filter(s -> s.timeline() == ancestor).map(Switch::at).findFirst();
  }

  /**
   * Parses a history file's plain content; blank lines and {@code #} comments are skipped, as
   * PostgreSQL does.
   *
   * @throws IllegalArgumentException naming the line that is not {@code tli<TAB>lsn...}
   */
  public static TimelineHistory parse(long timeline, byte[] content) {
    List<Switch> out = new ArrayList<>();
    for (String line : new String(content, StandardCharsets.UTF_8).split("\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      String[] f = l.split("\\s+", 3);
      if (f.length < 2) {
        throw new IllegalArgumentException("history of timeline " + timeline + ": line '" + l
            + "' is not '<timeline> <switch LSN> <reason>'");
      }
      out.add(new Switch(Long.parseLong(f[0]), Lsn.parse(f[1])));
    }
    return new TimelineHistory(timeline, out);
  }
}
