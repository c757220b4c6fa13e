package io.pgsidecar.core.wal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The contents of a timeline history file ({@code 00000003.history}) as PostgreSQL writes it at a
 * promotion: one line per ancestor, {@code <parent tli>\t<switch lsn>\t<reason>}, oldest first.
 * The last line names the direct parent and the LSN where this timeline begins. Retention (which
 * backups a timeline descends from) and verification (where a child takes over) both read it.
 *
 * @param timeline the timeline the file describes
 * @param ancestors its ancestors, oldest first; never empty
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

  /** The direct parent and the LSN where this timeline begins (the file's last line). */
  public Switch parent() {
    return ancestors.get(ancestors.size() - 1);
  }

  /** Parses the file's plain bytes (UTF-8); {@code name} names the file in the error. */
  public static TimelineHistory parse(long timeline, byte[] content, String name) {
    return parse(timeline, new String(content, StandardCharsets.UTF_8), name);
  }

  /**
   * Parses the file's text; blank lines and {@code #} comments are skipped, as PostgreSQL does.
   *
   * @throws IllegalArgumentException naming the file and the line that is not
   *     {@code parentTLI switchpoint reason}, or saying the file names no parent
   */
  public static TimelineHistory parse(long timeline, String text, String name) {
    List<Switch> out = new ArrayList<>();
    for (String raw : text.split("\n")) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] f = line.split("\\s+", 3);
      try {
        out.add(new Switch(Long.parseLong(f[0]), Lsn.parse(f[1])));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("timeline history file " + name + " has a line that is"
            + " not 'parentTLI switchpoint reason': '" + line + "'", e);
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("timeline history file " + name + " names no parent"
          + " timeline");
    }
    return new TimelineHistory(timeline, out);
  }
}
