package io.pgsidecar.bench.flame;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * The sampled stacks of a JFR recording, folded: one sample per event of the chosen types
 * ({@code jdk.ExecutionSample}: threads running Java code; {@code jdk.NativeMethodSample}:
 * threads in a native method, running or blocked in it; {@code jdk.CPUTimeSample}, JDK 25+: by
 * CPU time spent, Java and native alike, so zstd-jni's compression counts), optionally only of
 * threads whose name matches a regular expression.
 */
final class JfrStacks {

  /** The events' short names for the command line. */
  static final Map<String, String> ALIASES = Map.of(
      "execution", "jdk.ExecutionSample",
      "native", "jdk.NativeMethodSample",
      "cpu", "jdk.CPUTimeSample");

  /** A frame standing in for the root end of a stack JFR cut at its stack depth. */
  static final String TRUNCATED = "[truncated]";

  /** What was read: the stacks, samples per thread (digits in names as #), the time span. */
  record Profile(CollapsedStacks stacks, Map<String, Long> samplesByThread, Map<String, Long> samplesByEvent,
      long withoutStack, long truncated, Optional<Instant> first, Optional<Instant> last) {}

  private JfrStacks() {}

  static Profile read(Path recording, Set<String> eventTypes, Optional<Pattern> threads) throws IOException {
    CollapsedStacks stacks = new CollapsedStacks();
    Map<String, Long> byThread = new TreeMap<>();
    Map<String, Long> byEvent = new TreeMap<>();
    long withoutStack = 0;
    long truncated = 0;
    Instant first = null;
    Instant last = null;
    try (RecordingFile file = new RecordingFile(recording)) {
      while (file.hasMoreEvents()) {
        RecordedEvent event = file.readEvent();
        String type = event.getEventType().getName();
        if (!eventTypes.contains(type)) {
          continue;
        }
        String thread = threadName(event);
        if (threads.isPresent() && !threads.get().matcher(thread).find()) {
          continue;
        }
        RecordedStackTrace trace = event.getStackTrace();
        if (trace == null || trace.getFrames().isEmpty()
            || event.hasField("failed") && event.getBoolean("failed")) {
          withoutStack++;
          continue;
        }
        stacks.add(rootFirst(trace), 1);
        truncated += trace.isTruncated() ? 1 : 0;
        byThread.merge(thread.replaceAll("[0-9]+", "#"), 1L, Long::sum);
        byEvent.merge(type, 1L, Long::sum);
        Instant t = event.getStartTime();
        first = first == null || t.isBefore(first) ? t : first;
        last = last == null || t.isAfter(last) ? t : last;
      }
    }
    return new Profile(stacks, byThread, byEvent, withoutStack, truncated,
        Optional.ofNullable(first), Optional.ofNullable(last));
  }

  /** ExecutionSample and NativeMethodSample name the thread sampled; CPUTimeSample is on it. */
  private static String threadName(RecordedEvent event) {
    RecordedThread t = event.hasField("sampledThread") ? event.getThread("sampledThread") : event.getThread();
    if (t == null) {
      return "[unknown thread]";
    }
    String name = t.getJavaName() != null ? t.getJavaName() : t.getOSName();
    return name == null || name.isBlank() ? "[unnamed thread]" : name;
  }

  private static List<String> rootFirst(RecordedStackTrace trace) {
    List<RecordedFrame> frames = trace.getFrames();
    List<String> out = new ArrayList<>(frames.size() + 1);
    if (trace.isTruncated()) {
      out.add(TRUNCATED);
    }
    for (int i = frames.size() - 1; i >= 0; i--) {
      out.add(frameName(frames.get(i)));
    }
    return out;
  }

  /**
   * {@code pkg.Class.method}; a lambda's or other hidden class's address (which changes from run
   * to run) is dropped, so the same code folds alike in two recordings.
   */
  static String frameName(RecordedFrame frame) {
    if (frame.getMethod() == null) {
      return "[unknown]";
    }
    return frameName(frame.getMethod().getType().getName(), frame.getMethod().getName());
  }

  static String frameName(String type, String method) {
    String name = type.replaceAll("[./]0x[0-9a-fA-F]+$", "") + "." + method;
    return name.replace(' ', '_').replace(';', ':');
  }
}
