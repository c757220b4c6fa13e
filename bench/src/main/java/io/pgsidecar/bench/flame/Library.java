package io.pgsidecar.bench.flame;

import java.util.List;

/**
 * Whose code a frame is, read from its package: the flame graph's colour and the Markdown's
 * "self samples by library" row. The first library whose prefix the frame starts with wins.
 */
enum Library {
  PGSIDECAR("pgsidecar", 25, List.of("io.pgsidecar.")),
  ZSTD("zstd-jni (native zstd)", 285, List.of("com.github.luben.zstd.")),
  BOUNCY_CASTLE("Bouncy Castle", 0, List.of("org.bouncycastle.")),
  NETTY("Netty", 175, List.of("io.netty.")),
  VERTX("Vert.x", 140, List.of("io.vertx.")),
  AZURE("Azure SDK / Reactor", 210, List.of("com.azure.", "reactor.")),
  JACKSON("Jackson", 330, List.of("com.fasterxml.")),
  JDK("JDK", 95, List.of("java.", "javax.", "jdk.", "sun.", "com.sun.")),
  /** The root ("all") and the stand-in for the missing bottom of a truncated stack. */
  MARKER("(marker)", -1, List.of()),
  OTHER("other", 55, List.of());

  private final String label;
  /** HSL hue in degrees; -1: grey. */
  private final int hue;
  private final List<String> prefixes;

  Library(String label, int hue, List<String> prefixes) {
    this.label = label;
    this.hue = hue;
    this.prefixes = prefixes;
  }

  String label() {
    return label;
  }

  static Library of(String frame) {
    if (frame.equals(FrameTree.ROOT) || frame.startsWith("[")) {
      return MARKER;
    }
    for (Library library : values()) {
      for (String prefix : library.prefixes) {
        if (frame.startsWith(prefix)) {
          return library;
        }
      }
    }
    return OTHER;
  }

  /**
   * The fill of a frame: the library's hue, lightness varied by the frame's name so that
   * neighbours of one library stay apart, and a frame keeps its colour from graph to graph.
   */
  String fill(String frame) {
    int h = frame.hashCode() & 0x7fffffff;
    int lightness = 58 + h % 17;
    if (hue < 0) {
      return "hsl(0,0%," + (lightness + 10) + "%)";
    }
    int saturation = this == JDK ? 30 + (h / 17) % 15 : 60 + (h / 17) % 25;
    return "hsl(" + hue + "," + saturation + "%," + lightness + "%)";
  }

  /** The legend's swatch: the library's middle colour. */
  String swatch() {
    return hue < 0 ? "hsl(0,0%,75%)" : "hsl(" + hue + "," + (this == JDK ? 37 : 72) + "%,66%)";
  }
}
