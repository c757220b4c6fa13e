package io.pgsidecar.bench.flame;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * A flame graph as one self-contained SVG: the root at the bottom, each frame a rectangle as wide
 * as its share of the samples, its callees stacked on it, left to right by name (the x axis is
 * not time). Hovering a frame shows its tooltip ({@code <title>}: name, samples, share, self);
 * no script. Frames narrower than {@link #MIN_WIDTH} pixels are left out with everything above
 * them, as flamegraph.pl does, which keeps a long profile's file small; their samples still count
 * in the frames below.
 */
final class FlameSvg {

  static final double WIDTH = 1200;
  static final double PAD = 10;
  static final double FRAME_HEIGHT = 16;
  static final double MIN_WIDTH = 0.1;
  private static final double TOP = 62;
  private static final double CHAR_WIDTH = 6.6;

  private final StringBuilder body = new StringBuilder();
  private final Set<Library> used = EnumSet.noneOf(Library.class);
  private final long rootTotal;
  private final double pxPerSample;
  private final double height;

  private FlameSvg(FrameTree root) {
    rootTotal = root.total;
    pxPerSample = root.total == 0 ? 0 : (WIDTH - 2 * PAD) / root.total;
    height = TOP + visibleHeight(root) * FRAME_HEIGHT + PAD;
  }

  /** The SVG document of the tree, with a title line and a line under it (events, filter). */
  static String render(FrameTree root, String title, String subtitle) {
    FlameSvg svg = new FlameSvg(root);
    svg.frame(root, PAD);
    StringBuilder out = new StringBuilder();
    out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .append("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"").append(num(WIDTH))
        .append("\" height=\"").append(num(svg.height)).append("\" viewBox=\"0 0 ").append(num(WIDTH)).append(' ')
        .append(num(svg.height)).append("\">\n")
        .append("<style>text{font-family:monospace;font-size:11px;fill:#000}"
            + " .frame:hover rect{stroke:#000;stroke-width:1} .title{font-size:17px;font-family:sans-serif}"
            + " .sub{font-size:12px;font-family:sans-serif;fill:#444}</style>\n")
        .append("<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#f8f8f0\"/>\n")
        .append("<text class=\"title\" x=\"").append(num(WIDTH / 2)).append("\" y=\"22\" text-anchor=\"middle\">")
        .append(xml(title)).append("</text>\n")
        .append("<text class=\"sub\" x=\"").append(num(WIDTH / 2)).append("\" y=\"40\" text-anchor=\"middle\">")
        .append(xml(subtitle)).append("</text>\n");
    svg.legend(out);
    out.append(svg.body).append("</svg>\n");
    return out.toString();
  }

  private int visibleHeight(FrameTree node) {
    if (node.total * pxPerSample < MIN_WIDTH) {
      return 0;
    }
    int h = 0;
    for (FrameTree child : node.children()) {
      h = Math.max(h, visibleHeight(child));
    }
    return h + 1;
  }

  private void frame(FrameTree node, double x) {
    double w = node.total * pxPerSample;
    if (w < MIN_WIDTH) {
      return;
    }
    Library library = Library.of(node.name);
    used.add(library);
    double y = height - PAD - (node.depth + 1) * FRAME_HEIGHT;
    body.append("<g class=\"frame\"><title>").append(xml(node.name)).append(" (")
        .append(node.total).append(node.total == 1 ? " sample, " : " samples, ")
        .append(String.format(Locale.ROOT, "%.2f", 100.0 * node.total / rootTotal)).append(" %; self ")
        .append(node.self).append(")</title><rect x=\"").append(num(x)).append("\" y=\"").append(num(y))
        .append("\" width=\"").append(num(w)).append("\" height=\"").append(num(FRAME_HEIGHT - 1))
        .append("\" rx=\"2\" fill=\"").append(library.fill(node.name)).append("\"/>");
    String label = label(node.name, w);
    if (!label.isEmpty()) {
      body.append("<text x=\"").append(num(x + 3)).append("\" y=\"").append(num(y + 11)).append("\">")
          .append(xml(label)).append("</text>");
    }
    body.append("</g>\n");
    double childX = x;
    for (FrameTree child : node.children()) {
      frame(child, childX);
      childX += child.total * pxPerSample;
    }
  }

  /** What fits of the name in the frame: all of it, its start and "..", or nothing. */
  static String label(String name, double width) {
    int fits = (int) ((width - 6) / CHAR_WIDTH);
    if (fits >= name.length()) {
      return name;
    }
    return fits < 6 ? "" : name.substring(0, fits - 2) + "..";
  }

  private void legend(StringBuilder out) {
    double x = PAD;
    for (Library library : used) {
      if (library == Library.MARKER) {
        continue;
      }
      out.append("<rect x=\"").append(num(x)).append("\" y=\"48\" width=\"10\" height=\"10\" fill=\"")
          .append(library.swatch()).append("\"/><text x=\"").append(num(x + 13)).append("\" y=\"57\">")
          .append(xml(library.label())).append("</text>\n");
      x += 13 + library.label().length() * CHAR_WIDTH + 14;
    }
  }

  private static String num(double v) {
    return String.format(Locale.ROOT, "%.2f", v);
  }

  static String xml(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
