package io.pgsidecar.bench.flame;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** Folding, the graph's geometry and the top-frames table on hand-made stacks: exact figures. */
class FoldingTest {

  /** main;a;b x3, main;a x1, main;c x6: 10 samples, 1180 px, so 118 px a sample. */
  static CollapsedStacks handMade() {
    CollapsedStacks s = new CollapsedStacks();
    s.add(List.of("main", "c"), 4);
    s.add(List.of("main", "a", "b"), 1);
    s.add(List.of("main", "a"), 1);
    s.add(List.of("main", "a", "b"), 2);
    s.add(List.of("main", "c"), 2);
    return s;
  }

  @Test
  void stacksFoldIntoSortedRootFirstLinesWithTheirCounts() {
    CollapsedStacks s = handMade();
    assertEquals("main;a 1\nmain;a;b 3\nmain;c 6\n", s.text());
    assertEquals(10, s.total());
    assertEquals(s.text(), CollapsedStacks.parse(s.text()).text(), "the text reads back as it was written");
  }

  @Test
  void selfCountsTheTopFrameAndTotalCountsARecursiveFrameOnce() {
    CollapsedStacks s = handMade();
    s.add(List.of("main", "f", "f", "f"), 5);
    assertEquals(Map.of("a", 1L, "b", 3L, "c", 6L, "f", 5L), s.selfSamples());
    assertEquals(Map.of("main", 15L, "a", 4L, "b", 3L, "c", 6L, "f", 5L), s.totalSamples());
    assertEquals(9, s.samplesThrough(f -> f.equals("b") || f.equals("c")));
  }

  @Test
  void everyFrameIsARectangleAsWideAsItsSamples() throws Exception {
    String svg = FlameSvg.render(FrameTree.of(handMade()), "T", "sub");
    Map<String, Element> rects = frames(svg);
    assertEquals(List.of("all", "main", "a", "b", "c"), List.copyOf(rects.keySet()), "root, then by name, depth first");
    // x, width: the root spans 10..1190; a (4 samples) then c (6) side by side; b on a
    assertRect(rects.get("all"), "10.00", "1180.00", "110.00");
    assertRect(rects.get("main"), "10.00", "1180.00", "94.00");
    assertRect(rects.get("a"), "10.00", "472.00", "78.00");
    assertRect(rects.get("b"), "10.00", "354.00", "62.00");
    assertRect(rects.get("c"), "482.00", "708.00", "78.00");
    assertEquals("c (6 samples, 60.00 %; self 6)", title(svg, "c"));
    assertEquals("main (10 samples, 100.00 %; self 0)", title(svg, "main"));
  }

  @Test
  void aFrameNarrowerThanATenthOfAPixelIsLeftOutButItsSamplesCountBelow() throws Exception {
    CollapsedStacks s = new CollapsedStacks();
    s.add(List.of("main", "wide"), 19_999);
    s.add(List.of("main", "narrow", "above"), 1); // 1180 / 20000 = 0.059 px
    String svg = FlameSvg.render(FrameTree.of(s), "T", "sub");
    assertEquals(List.of("all", "main", "wide"), List.copyOf(frames(svg).keySet()));
    assertEquals("main (20000 samples, 100.00 %; self 0)", title(svg, "main"));
  }

  @Test
  void namesAndTitlesAreEscapedAndLabelsCutToTheFrame() throws Exception {
    CollapsedStacks s = new CollapsedStacks();
    s.add(List.of("java.lang.Thread.run", "io.pgsidecar.X.<init>"), 1);
    String svg = FlameSvg.render(FrameTree.of(s), "a <b> & \"c\"", "sub");
    assertTrue(svg.contains("io.pgsidecar.X.&lt;init&gt; (1 sample, 100.00 %; self 1)"), svg);
    assertTrue(frames(svg).containsKey("io.pgsidecar.X.<init>"));
    assertEquals("java.lang.Thread.run", FlameSvg.label("java.lang.Thread.run", 200));
    assertEquals("java.lan..", FlameSvg.label("java.lang.Thread.run", 75)); // (75 - 6) / 6.6: 10 characters
    assertEquals("", FlameSvg.label("java.lang.Thread.run", 40));
  }

  @Test
  void theTableRanksFramesBySelfAndTotalWithShares() {
    JfrStacks.Profile p = new JfrStacks.Profile(handMade(), Map.of("worker-#", 10L), Map.of(), 0, 0,
        Optional.empty(), Optional.empty());
    String md = TopFrames.markdown("T", "about", p);
    assertTrue(md.contains("""
        | # | frame | library | self | self % | total % |
        |---:|---|---|---:|---:|---:|
        | 1 | `c` | other | 6 | 60.0 | 60.0 |
        | 2 | `b` | other | 3 | 30.0 | 30.0 |
        | 3 | `a` | other | 1 | 10.0 | 40.0 |
        """), md);
    assertTrue(md.contains("""
        | 1 | `main` | other | 10 | 100.0 | 0.0 |
        | 2 | `c` | other | 6 | 60.0 | 60.0 |
        | 3 | `a` | other | 4 | 40.0 | 10.0 |
        | 4 | `b` | other | 3 | 30.0 | 30.0 |
        """), md);
    assertTrue(md.contains("| other | 10 | 100.0 |"), md);
    assertTrue(!md.contains("pgsidecar's own frames"), "no io.pgsidecar frame, no table of them");
    assertTrue(md.contains("| worker-# | 10 | 100.0 |"), md);
  }

  @Test
  void framesAreNamedPackageClassMethodWithoutAHiddenClassAddress() {
    assertEquals("io.pgsidecar.wal.push.Pusher$$Lambda.run",
        JfrStacks.frameName("io.pgsidecar.wal.push.Pusher$$Lambda/0x00007f3c2c0a1234", "run"));
    assertEquals("io.pgsidecar.X$$Lambda.get", JfrStacks.frameName("io.pgsidecar.X$$Lambda.0x0000000801c0b000", "get"));
    assertEquals("java.lang.Thread.run", JfrStacks.frameName("java.lang.Thread", "run"));
  }

  @Test
  void librariesAreReadFromThePackage() {
    assertEquals(Library.PGSIDECAR, Library.of("io.pgsidecar.codec.ZstdCodec.encode"));
    assertEquals(Library.ZSTD, Library.of("com.github.luben.zstd.ZstdOutputStreamNoFinalizer.writeStream"));
    assertEquals(Library.NETTY, Library.of("io.netty.channel.nio.NioEventLoop.run"));
    assertEquals(Library.AZURE, Library.of("reactor.core.publisher.Flux.subscribe"));
    assertEquals(Library.JDK, Library.of("sun.nio.ch.SocketDispatcher.read0"));
    assertEquals(Library.MARKER, Library.of(JfrStacks.TRUNCATED));
    assertEquals(Library.OTHER, Library.of("main"));
  }

  @Test
  void aBadLineOrFrameIsRefusedWithWhatIsWrong() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CollapsedStacks.parse("a;b 2\n\na;c two\n"));
    assertEquals("line 3 is not 'frame;frame;... count': a;c two", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new CollapsedStacks().add(List.of("a", "b c"), 1));
    assertEquals("a frame name cannot be empty or hold ';', ' ' or a newline: 'b c' in [a, b c]", e.getMessage());
  }

  private static void assertRect(Element rect, String x, String width, String y) {
    assertEquals(x, rect.getAttribute("x"), "x");
    assertEquals(width, rect.getAttribute("width"), "width");
    assertEquals(y, rect.getAttribute("y"), "y");
  }

  /** Each frame's rectangle, by the name its tooltip starts with, in document order. */
  static Map<String, Element> frames(String svg) throws Exception {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    NodeList groups = f.newDocumentBuilder().parse(new InputSource(new StringReader(svg)))
        .getElementsByTagNameNS("http://www.w3.org/2000/svg", "g");
    Map<String, Element> out = new LinkedHashMap<>();
    for (int i = 0; i < groups.getLength(); i++) {
      Element g = (Element) groups.item(i);
      if (!g.getAttribute("class").equals("frame")) {
        continue;
      }
      NodeList titles = g.getElementsByTagNameNS("http://www.w3.org/2000/svg", "title");
      NodeList rects = g.getElementsByTagNameNS("http://www.w3.org/2000/svg", "rect");
      assertEquals(1, titles.getLength(), "one tooltip per frame");
      assertEquals(1, rects.getLength(), "one rectangle per frame");
      String title = titles.item(0).getTextContent();
      out.put(title.substring(0, title.indexOf(" (")), (Element) rects.item(0));
    }
    return out;
  }

  private static String title(String svg, String frame) throws Exception {
    frames(svg); // well-formed
    String xml = FlameSvg.xml(frame);
    int at = svg.indexOf("<title>" + xml + " (");
    return frame + svg.substring(at + 7 + xml.length(), svg.indexOf("</title>", at));
  }
}
