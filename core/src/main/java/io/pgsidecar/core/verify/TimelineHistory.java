package io.pgsidecar.core.verify;

import io.pgsidecar.core.wal.Lsn;
import java.util.ArrayList;
import java.util.List;

/**
 * A timeline history file ({@code 00000002.history}) as PostgreSQL writes it at a promotion: one
 * line per ancestor, {@code parentTLI <tab> switchpoint <tab> reason}, oldest first. The last
 * line names the direct parent and the LSN where this timeline begins.
 *
 * @param timeline the timeline the file belongs to
 * @param entries the ancestors, oldest first
 */
public record TimelineHistory(long timeline, List<Entry> entries) {

  /** An ancestor timeline and the position where its child took over. */
  public record Entry(long parent, Lsn switchpoint) {}

  public TimelineHistory {
    entries = List.copyOf(entries);
  }

  /** Parses the file's text; {@code name} names it in the error. */
  public static TimelineHistory parse(long timeline, String text, String name) {
    List<Entry> out = new ArrayList<>();
    for (String raw : text.split("\n")) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] f = line.split("\\s+", 3);
      try {
        out.add(new Entry(Long.parseLong(f[0]), Lsn.parse(f[1])));
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

  public Entry parent() {
    return entries.get(entries.size() - 1);
  }
}
