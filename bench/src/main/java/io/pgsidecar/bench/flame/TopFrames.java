package io.pgsidecar.bench.flame;

import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Markdown beside a flame graph: the frames with the most samples of their own (self: the
 * frame was on top, running its own code) and with the most samples through them (total: it was
 * anywhere on the stack, callees included), pgsidecar's own frames by total, self samples per
 * library, and samples per thread.
 */
final class TopFrames {

  static final int ROWS = 20;

  private TopFrames() {}

  static String markdown(String title, String about, JfrStacks.Profile profile) {
    CollapsedStacks stacks = profile.stacks();
    long all = stacks.total();
    Map<String, Long> self = stacks.selfSamples();
    Map<String, Long> total = stacks.totalSamples();
    StringBuilder out = new StringBuilder();
    out.append("# ").append(title).append("\n\n").append(about).append("\n\n");
    if (all == 0) {
      return out.append("No samples.\n").toString();
    }
    out.append("## Top frames by self samples\n\n")
        .append("| # | frame | library | self | self % | total % |\n|---:|---|---|---:|---:|---:|\n");
    int i = 0;
    for (Map.Entry<String, Long> e : top(self)) {
      out.append(row(++i, e.getKey(), e.getValue(), all, total.get(e.getKey())));
    }
    out.append("\n## Top frames by total samples (the frame and its callees)\n\n")
        .append("| # | frame | library | total | total % | self % |\n|---:|---|---|---:|---:|---:|\n");
    i = 0;
    for (Map.Entry<String, Long> e : top(total)) {
      out.append(row(++i, e.getKey(), e.getValue(), all, self.getOrDefault(e.getKey(), 0L)));
    }
    Map<String, Long> ours = new TreeMap<>();
    total.forEach((frame, n) -> {
      if (Library.of(frame) == Library.PGSIDECAR) {
        ours.put(frame, n);
      }
    });
    if (!ours.isEmpty()) {
      out.append("\n## pgsidecar's own frames by total samples (which of our code paths the time is under)\n\n")
          .append("| # | frame | library | total | total % | self % |\n|---:|---|---|---:|---:|---:|\n");
      i = 0;
      for (Map.Entry<String, Long> e : top(ours)) {
        out.append(row(++i, e.getKey(), e.getValue(), all, self.getOrDefault(e.getKey(), 0L)));
      }
    }
    Map<Library, Long> byLibrary = new EnumMap<>(Library.class);
    self.forEach((frame, n) -> byLibrary.merge(Library.of(frame), n, Long::sum));
    out.append("\n## Self samples by library\n\n| library | self | % |\n|---|---:|---:|\n");
    byLibrary.entrySet().stream().sorted(Map.Entry.<Library, Long>comparingByValue().reversed())
        .forEach(e -> out.append("| ").append(e.getKey().label()).append(" | ").append(e.getValue())
            .append(" | ").append(pct(e.getValue(), all)).append(" |\n"));
    out.append("\n## Samples by thread (digits in names as #)\n\n| thread | samples | % |\n|---|---:|---:|\n");
    top(profile.samplesByThread()).forEach(e -> out.append("| ").append(cell(e.getKey())).append(" | ")
        .append(e.getValue()).append(" | ").append(pct(e.getValue(), all)).append(" |\n"));
    return out.toString();
  }

  /** The {@link #ROWS} largest, ties by name. */
  private static List<Map.Entry<String, Long>> top(Map<String, Long> samples) {
    return samples.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
        .limit(ROWS).toList();
  }

  private static String row(int rank, String frame, long samples, long all, long other) {
    return "| " + rank + " | `" + frame + "` | " + Library.of(frame).label() + " | " + samples + " | "
        + pct(samples, all) + " | " + pct(other, all) + " |\n";
  }

  static String pct(long n, long all) {
    return String.format(Locale.ROOT, "%.1f", 100.0 * n / all);
  }

  private static String cell(String s) {
    return s.replace("|", "\\|");
  }
}
