package io.pgsidecar.bench.flame;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * bench/flame.sh: a flame graph of a JFR recording's sampled stacks, written beside its
 * collapsed stacks and a Markdown table of the top frames.
 *
 * <pre>java -cp ... io.pgsidecar.bench.flame.Flame [--events execution,native,cpu,...]
 *     RECORDING.jfr|STACKS.collapsed OUT-PREFIX [THREAD-REGEX]</pre>
 *
 * Writes OUT-PREFIX.collapsed, OUT-PREFIX.svg and OUT-PREFIX.md. {@code --events} takes event
 * names or the aliases of {@link JfrStacks#ALIASES}; default {@code execution}. THREAD-REGEX
 * keeps the samples of threads whose name it finds (Matcher.find: anchor it with ^ and $ for a
 * whole name). An input ending in {@code .collapsed} is read as collapsed stacks instead (no
 * thread filter then: the threads are gone).
 */
public final class Flame {

  private static final String USAGE = "usage: bench/flame.sh [--events execution,native,cpu] <recording.jfr>"
      + " <out-prefix> [thread-regex]";

  private Flame() {}

  public static void main(String[] args) throws IOException {
    Set<String> events = new LinkedHashSet<>();
    List<String> positional = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--events") && i + 1 < args.length) {
        for (String e : args[++i].split(",")) {
          events.add(JfrStacks.ALIASES.getOrDefault(e.strip(), e.strip()));
        }
      } else if (args[i].startsWith("-")) {
        fail(USAGE + " (unknown option " + args[i] + ")");
      } else {
        positional.add(args[i]);
      }
    }
    if (positional.size() < 2 || positional.size() > 3) {
      fail(USAGE);
    }
    if (events.isEmpty()) {
      events.add(JfrStacks.ALIASES.get("execution"));
    }
    Path input = Path.of(positional.get(0));
    if (!Files.isRegularFile(input)) {
      fail("no such file: " + input + " (" + USAGE + ")");
    }
    Optional<Pattern> threads = Optional.empty();
    if (positional.size() == 3) {
      try {
        threads = Optional.of(Pattern.compile(positional.get(2)));
      } catch (PatternSyntaxException e) {
        fail("the thread regex is not a regular expression: " + e.getMessage());
      }
    }
    Written w = write(input, Path.of(positional.get(1)), events, threads);
    System.out.println("wrote " + w.svg() + ", " + w.collapsed() + " and " + w.markdown() + ": " + w.samples()
        + " samples of " + events + (threads.isPresent() ? " on threads matching " + threads.get() : ""));
    if (w.samples() == 0) {
      System.err.println("no samples: does the recording hold " + events + " events (jfr summary " + input
          + "), and does a thread match the regex?");
      System.exit(1);
    }
  }

  /** The files written and the number of samples in them. */
  record Written(Path collapsed, Path svg, Path markdown, long samples) {}

  static Written write(Path input, Path prefix, Set<String> events, Optional<Pattern> threads) throws IOException {
    JfrStacks.Profile profile;
    if (input.toString().endsWith(".collapsed")) {
      CollapsedStacks stacks = CollapsedStacks.parse(Files.readString(input));
      profile = new JfrStacks.Profile(stacks, Map.of(), Map.of(), 0, 0,
          Optional.empty(), Optional.empty());
    } else {
      profile = JfrStacks.read(input, events, threads);
    }
    String title = "Flame graph: " + input.getFileName();
    String about = about(profile, events, threads);
    Path dir = prefix.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    String base = prefix.getFileName().toString();
    Path collapsed = dir.resolve(base + ".collapsed");
    Path svg = dir.resolve(base + ".svg");
    Path markdown = dir.resolve(base + ".md");
    Files.writeString(collapsed, profile.stacks().text());
    Files.writeString(svg, FlameSvg.render(FrameTree.of(profile.stacks()), title, about));
    Files.writeString(markdown, TopFrames.markdown(title, about + ". Graph: [" + svg.getFileName() + "]("
        + svg.getFileName() + "), stacks: [" + collapsed.getFileName() + "](" + collapsed.getFileName() + ").",
        profile));
    return new Written(collapsed, svg, markdown, profile.stacks().total());
  }

  private static String about(JfrStacks.Profile p, Set<String> events, Optional<Pattern> threads) {
    StringBuilder s = new StringBuilder().append(p.stacks().total()).append(" samples");
    if (!p.samplesByEvent().isEmpty() || p.first().isPresent()) {
      s.append(" of ").append(p.samplesByEvent().isEmpty() ? events : p.samplesByEvent());
    }
    threads.ifPresent(t -> s.append(", threads matching /").append(t).append('/'));
    if (p.first().isPresent()) {
      DateTimeFormatter f = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);
      s.append(", ").append(f.format(p.first().get())).append(" to ")
          .append(DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC).format(p.last().get()))
          .append(" UTC (").append(Duration.between(p.first().get(), p.last().get()).toSeconds()).append(" s)");
    }
    if (p.truncated() > 0) {
      s.append(", ").append(p.truncated()).append(" stacks cut at JFR's stack depth (under ")
          .append(JfrStacks.TRUNCATED).append(')');
    }
    if (p.withoutStack() > 0) {
      s.append(", ").append(p.withoutStack()).append(" samples without a stack left out");
    }
    return s.toString();
  }

  private static void fail(String message) {
    System.err.println(message);
    System.exit(2);
  }
}
