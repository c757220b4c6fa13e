package io.pgsidecar.bench.flame;

import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Stacks folded into the "collapsed" form of Brendan Gregg's flamegraph.pl and async-profiler's
 * {@code collapsed} output: one line per distinct stack, frames root first joined by {@code ;},
 * a space, and the number of samples with that stack. Lines are sorted, so two foldings of the
 * same samples are byte for byte equal.
 */
final class CollapsedStacks {

  private final Map<String, Long> samplesByStack = new TreeMap<>();
  private long total;

  /** Counts {@code samples} samples of one stack, its frames root first. */
  void add(List<String> rootFirst, long samples) {
    if (rootFirst.isEmpty()) {
      throw new IllegalArgumentException("a stack without frames");
    }
    if (samples <= 0) {
      throw new IllegalArgumentException("samples must be positive: " + samples);
    }
    for (String frame : rootFirst) {
      if (frame.isEmpty() || frame.contains(";") || frame.contains(" ") || frame.contains("\n")) {
        throw new IllegalArgumentException("a frame name cannot be empty or hold ';', ' ' or a newline: '"
            + frame + "' in " + rootFirst);
      }
    }
    samplesByStack.merge(String.join(";", rootFirst), samples, Long::sum);
    total += samples;
  }

  long total() {
    return total;
  }

  /** Each distinct stack (frames root first) and its samples, sorted by the joined stack. */
  Map<List<String>, Long> stacks() {
    Map<List<String>, Long> out = new LinkedHashMap<>();
    samplesByStack.forEach((stack, n) -> out.put(List.of(stack.split(";")), n));
    return Collections.unmodifiableMap(out);
  }

  /** The collapsed text: {@code frame;frame;frame count} per line, root first, sorted. */
  String text() {
    StringBuilder out = new StringBuilder();
    samplesByStack.forEach((stack, n) -> out.append(stack).append(' ').append(n).append('\n'));
    return out.toString();
  }

  /** Reads collapsed text (as written by {@link #text()}, flamegraph.pl or async-profiler). */
  static CollapsedStacks parse(String text) {
    CollapsedStacks out = new CollapsedStacks();
    int lineNo = 0;
    for (String line : text.split("\n")) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      try {
        out.add(List.of(line.substring(0, Math.max(space, 0)).split(";")), Long.parseLong(line.substring(space + 1).strip()));
      } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
        throw new IllegalArgumentException("line " + lineNo + " is not 'frame;frame;... count': " + line, e);
      }
    }
    return out;
  }

  /** Samples with the frame on top of the stack (running its own code), per frame. */
  Map<String, Long> selfSamples() {
    Map<String, Long> self = new TreeMap<>();
    stacks().forEach((stack, n) -> self.merge(stack.getLast(), n, Long::sum));
    return self;
  }

  /** Samples with the frame anywhere on the stack, per frame; a recursive frame counts once. */
  Map<String, Long> totalSamples() {
    Map<String, Long> all = new TreeMap<>();
    stacks().forEach((stack, n) -> {
      Set<String> seen = new HashSet<>(stack);
      seen.forEach(frame -> all.merge(frame, n, Long::sum));
    });
    return all;
  }

  /** The stacks whose frames include one that satisfies {@code frame}. */
  long samplesThrough(Predicate<String> frame) {
    long n = 0;
    for (Map.Entry<List<String>, Long> e : stacks().entrySet()) {
      if (e.getKey().stream().anyMatch(frame)) {
        n += e.getValue();
      }
    }
    return n;
  }
}
