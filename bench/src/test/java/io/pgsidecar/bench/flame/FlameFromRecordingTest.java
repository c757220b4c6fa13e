package io.pgsidecar.bench.flame;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import jdk.jfr.Recording;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;

/**
 * The tool on a real recording: JFR samples this JVM every 10 ms while a thread named
 * {@value #HOT_THREAD} spins in {@link #hot}; its graph must show that method on that thread.
 */
class FlameFromRecordingTest {

  static final String HOT_THREAD = "flame-test-hot";
  static final String HOT_FRAME = FlameFromRecordingTest.class.getName() + ".hot";
  static final String EXECUTION = "jdk.ExecutionSample";

  @TempDir
  static Path dir;
  static Path recording;
  static volatile long sink;

  @BeforeAll
  static void record() throws Exception {
    recording = dir.resolve("hot.jfr");
    try (Recording r = new Recording()) {
      r.enable(EXECUTION).withPeriod(Duration.ofMillis(10));
      r.start();
      Thread t = new Thread(FlameFromRecordingTest::spin, HOT_THREAD);
      t.start();
      t.join();
      r.stop();
      r.dump(recording);
    }
  }

  /** About 1.5 s in {@link #hot}, a few calls to the clock between. */
  static void spin() {
    long end = System.nanoTime() + 1_500_000_000L;
    long x = 1;
    while (System.nanoTime() < end) {
      x = hot(x);
    }
    sink = x;
  }

  static long hot(long x) {
    for (int i = 0; i < 20_000; i++) {
      x = x * 6364136223846793005L + 1442695040888963407L ^ (x >>> 29);
    }
    return x;
  }

  @Test
  void theHotMethodHasMostOfItsThreadsSamples() throws Exception {
    Flame.Written w = Flame.write(recording, dir.resolve("out/hot"), Set.of(EXECUTION),
        Optional.of(Pattern.compile("^" + HOT_THREAD + "$")));
    CollapsedStacks stacks = CollapsedStacks.parse(Files.readString(w.collapsed()));
    assertEquals(w.samples(), stacks.total());
    assertTrue(stacks.total() >= 20, "1.5 s at 10 ms should give ~150 samples, got " + stacks.total());
    long inHot = stacks.samplesThrough(HOT_FRAME::equals);
    assertTrue(inHot >= 0.8 * stacks.total(), inHot + " of " + stacks.total() + " samples through " + HOT_FRAME
        + ":\n" + stacks.text());
    String md = Files.readString(w.markdown());
    assertTrue(md.contains("## pgsidecar's own frames by total samples"), md);
    assertTrue(md.contains("| " + HOT_THREAD + " | " + stacks.total() + " | 100.0 |"), md);
    assertTrue(md.contains("| 1 | `" + HOT_FRAME + "` | pgsidecar |")
        || md.contains("| 1 | `" + FlameFromRecordingTest.class.getName() + ".spin` | pgsidecar |"), md);
  }

  @Test
  void theCollapsedLinesAreRootFirstFramesAndACount() throws Exception {
    Flame.Written w = Flame.write(recording, dir.resolve("out/all"), Set.of(EXECUTION), Optional.empty());
    List<String> lines = Files.readAllLines(w.collapsed());
    assertTrue(!lines.isEmpty());
    Pattern line = Pattern.compile("[^ ;]+(;[^ ;]+)* [1-9][0-9]*");
    Pattern frame = Pattern.compile("([\\w$]+\\.)+[\\w$<>]+|\\[truncated]");
    for (String l : lines) {
      assertTrue(line.matcher(l).matches(), "not 'frame;frame count': " + l);
      for (String f : l.substring(0, l.lastIndexOf(' ')).split(";")) {
        assertTrue(frame.matcher(f).matches(), "not pkg.Class.method: " + f + " in " + l);
      }
    }
    String hotLine = lines.stream().filter(l -> l.contains(";" + HOT_FRAME)).findFirst().orElseThrow();
    List<String> frames = List.of(hotLine.substring(0, hotLine.lastIndexOf(' ')).split(";"));
    int run = frames.indexOf("java.lang.Thread.run");
    int spin = frames.indexOf(FlameFromRecordingTest.class.getName() + ".spin");
    int hot = frames.indexOf(HOT_FRAME);
    assertTrue(run >= 0 && run < spin && spin < hot, "root first: Thread.run, spin, hot in " + hotLine);
    assertEquals(HOT_FRAME, frames.getLast());
  }

  @Test
  void theSvgIsWellFormedWithARectanglePerFrameWideEnoughToSee() throws Exception {
    Flame.Written w = Flame.write(recording, dir.resolve("out/svg"), Set.of(EXECUTION),
        Optional.of(Pattern.compile(HOT_THREAD)));
    String svg = Files.readString(w.svg());
    Map<String, Element> rects = FoldingTest.frames(svg); // parses it: well-formed
    CollapsedStacks stacks = CollapsedStacks.parse(Files.readString(w.collapsed()));
    FrameTree tree = FrameTree.of(stacks);
    assertEquals(visibleFrames(tree, (FlameSvg.WIDTH - 2 * FlameSvg.PAD) / tree.total), countFrameGroups(svg),
        "one rectangle per frame at least " + FlameSvg.MIN_WIDTH + " px wide");
    assertEquals("1180.00", rects.get(FrameTree.ROOT).getAttribute("width"));
    double hotWidth = Double.parseDouble(rects.get(HOT_FRAME).getAttribute("width"));
    assertTrue(hotWidth >= 0.8 * 1180, "the hot frame is " + hotWidth + " px of 1180");
    assertTrue(svg.contains("<title>" + HOT_FRAME + " ("), "its tooltip");
  }

  private static int visibleFrames(FrameTree node, double pxPerSample) {
    if (node.total * pxPerSample < FlameSvg.MIN_WIDTH) {
      return 0;
    }
    int n = 1;
    for (FrameTree child : node.children()) {
      n += visibleFrames(child, pxPerSample);
    }
    return n;
  }

  private static int countFrameGroups(String svg) {
    return svg.split("<g class=\"frame\">", -1).length - 1;
  }
}
