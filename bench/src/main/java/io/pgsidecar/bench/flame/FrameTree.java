package io.pgsidecar.bench.flame;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The collapsed stacks as a tree under one root, {@value #ROOT}: each node is a frame reached by
 * one path from the root, with the samples of every stack through it ({@code total}) and of the
 * stacks that end in it ({@code self}). Children are sorted by name, as flamegraph.pl sorts
 * them, so a frame's place in the graph does not depend on the order of the samples.
 */
final class FrameTree {

  static final String ROOT = "all";

  final String name;
  final int depth;
  long total;
  long self;
  private final Map<String, FrameTree> children = new TreeMap<>();

  private FrameTree(String name, int depth) {
    this.name = name;
    this.depth = depth;
  }

  static FrameTree of(CollapsedStacks stacks) {
    FrameTree root = new FrameTree(ROOT, 0);
    stacks.stacks().forEach((stack, n) -> root.add(stack, n));
    return root;
  }

  private void add(List<String> stack, long n) {
    FrameTree node = this;
    node.total += n;
    for (String frame : stack) {
      String f = frame;
      int d = node.depth + 1;
      node = node.children.computeIfAbsent(f, k -> new FrameTree(k, d));
      node.total += n;
    }
    node.self += n;
  }

  Collection<FrameTree> children() {
    return children.values();
  }

  /** Frames from this one up, this one included. */
  int height() {
    int h = 0;
    for (FrameTree child : children.values()) {
      h = Math.max(h, child.height());
    }
    return h + 1;
  }
}
