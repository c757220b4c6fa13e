package io.pgsidecar.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What the Java sources of a tree refer to: every import (static and wildcard ones included) and
 * every package-qualified name written in code ({@code picocli.CommandLine.Model.CommandSpec},
 * {@code java.util.Arrays.asList}), read from the text with comments and string literals left
 * out. Plain text, no compiler: what a reader of the file sees is what the rules see.
 */
final class SourceImports {

  /** One reference: the file, its line, the line's text, the package it is in, the package it names. */
  record Ref(Path file, int line, String text, String fromPackage, String toPackage) {
    String where(Path root) {
      return root.relativize(file) + ":" + line + ": " + text.strip();
    }
  }

  /** First segments of the packages a qualified name in code can start with. */
  private static final Set<String> ROOTS = Set.of("java", "javax", "jdk", "sun", "com", "org",
      "io", "net", "picocli", "software", "tools", "reactor");

  private static final Pattern PACKAGE = Pattern.compile("(?m)^\\s*package\\s+([\\w.]+)\\s*;");
  private static final Pattern IMPORT =
      Pattern.compile("^\\s*import\\s+(?:static\\s+)?([\\w.]+(?:\\.\\*)?)\\s*;");
  /** a.b.C: lower-case segments then an upper-case one (a type), not preceded by a dot. */
  private static final Pattern QUALIFIED =
      Pattern.compile("(?<![\\w.])([a-z]\\w*(?:\\.[a-z]\\w*)*)\\.[A-Z]");
  /** Root packages of a single segment (picocli.CommandLine): any other a.B is a field or call. */
  private static final Set<String> ONE_SEGMENT_PACKAGES = Set.of("picocli");

  private SourceImports() {}

  /** Every reference of every {@code .java} file under {@code dir} (sorted by file). */
  static List<Ref> scan(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    List<Ref> refs = new ArrayList<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
        refs.addAll(scanFile(f));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the sources under " + dir, e);
    }
    return refs;
  }

  static List<Ref> scanFile(Path file) throws IOException {
    String source = Files.readString(file);
    Matcher pm = PACKAGE.matcher(source);
    String pkg = pm.find() ? pm.group(1) : "";
    String[] original = source.split("\n", -1);
    String[] code = codeOnly(source).split("\n", -1);
    List<Ref> refs = new ArrayList<>();
    for (int i = 0; i < code.length; i++) {
      String line = code[i];
      Matcher im = IMPORT.matcher(line);
      if (im.find()) {
        refs.add(new Ref(file, i + 1, original[i], pkg, packageOf(im.group(1))));
        continue;
      }
      if (line.strip().startsWith("package ")) {
        continue;
      }
      Matcher qm = QUALIFIED.matcher(line);
      while (qm.find()) {
        String name = qm.group(1);
        boolean qualified = name.indexOf('.') > 0
            ? ROOTS.contains(name.substring(0, name.indexOf('.')))
            : ONE_SEGMENT_PACKAGES.contains(name);
        if (qualified) {
          refs.add(new Ref(file, i + 1, original[i], pkg, name));
        }
      }
    }
    return refs;
  }

  /** The package of an imported name: the segments before the first upper-case one. */
  static String packageOf(String imported) {
    String name = imported.endsWith(".*") ? imported.substring(0, imported.length() - 2) : imported;
    StringBuilder pkg = new StringBuilder();
    for (String segment : name.split("\\.")) {
      if (!segment.isEmpty() && Character.isUpperCase(segment.charAt(0))) {
        break;
      }
      if (!pkg.isEmpty()) {
        pkg.append('.');
      }
      pkg.append(segment);
    }
    return pkg.toString();
  }

  /**
   * The source with comments, string and character literals and text blocks blanked out (line
   * breaks kept, so line numbers stay right).
   */
  static String codeOnly(String s) {
    StringBuilder out = new StringBuilder(s.length());
    int i = 0;
    int n = s.length();
    while (i < n) {
      char c = s.charAt(i);
      if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
        while (i < n && s.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
        int end = s.indexOf("*/", i + 2);
        end = end < 0 ? n : end + 2;
        blank(s, i, end, out);
        i = end;
      } else if (s.startsWith("\"\"\"", i)) {
        int end = s.indexOf("\"\"\"", i + 3);
        while (end > 0 && s.charAt(end - 1) == '\\') {
          end = s.indexOf("\"\"\"", end + 1);
        }
        end = end < 0 ? n : end + 3;
        blank(s, i, end, out);
        i = end;
      } else if (c == '"' || c == '\'') {
        int j = i + 1;
        while (j < n && s.charAt(j) != c && s.charAt(j) != '\n') {
          j += s.charAt(j) == '\\' ? 2 : 1;
        }
        int end = Math.min(n, j + 1);
        blank(s, i, end, out);
        i = end;
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }

  private static void blank(String s, int from, int to, StringBuilder out) {
    for (int k = from; k < to; k++) {
      out.append(s.charAt(k) == '\n' ? '\n' : ' ');
    }
  }

  /**
   * The package cycles among {@code refs}: each strongly connected component of more than one
   * package of the graph "package A names package B" (Tarjan's algorithm), with, for every edge
   * inside it, one line that makes it. Empty when the packages form no cycle.
   */
  static List<String> cycles(List<Ref> refs, Path root) {
    Map<String, Map<String, Ref>> edges = new TreeMap<>();
    for (Ref r : refs) {
      if (!r.fromPackage().equals(r.toPackage())) {
        edges.computeIfAbsent(r.fromPackage(), k -> new TreeMap<>()).putIfAbsent(r.toPackage(), r);
        edges.computeIfAbsent(r.toPackage(), k -> new TreeMap<>());
      }
    }
    List<String> report = new ArrayList<>();
    for (Set<String> component : new Tarjan(edges).components()) {
      if (component.size() < 2) {
        continue;
      }
      StringBuilder sb = new StringBuilder("cycle between " + component + ":");
      for (String from : component) {
        for (Map.Entry<String, Ref> e : edges.get(from).entrySet()) {
          if (component.contains(e.getKey())) {
            sb.append("\n    ").append(from).append(" -> ").append(e.getKey()).append("  ")
                .append(e.getValue().where(root));
          }
        }
      }
      report.add(sb.toString());
    }
    return report;
  }

  /** Tarjan's strongly connected components, iteration order of the graph's (sorted) keys. */
  private static final class Tarjan {
    private final Map<String, Map<String, Ref>> edges;
    private final Map<String, Integer> index = new HashMap<>();
    private final Map<String, Integer> low = new HashMap<>();
    private final Deque<String> stack = new ArrayDeque<>();
    private final Set<String> onStack = new TreeSet<>();
    private final List<Set<String>> result = new ArrayList<>();
    private int next;

    Tarjan(Map<String, Map<String, Ref>> edges) {
      this.edges = edges;
    }

    List<Set<String>> components() {
      for (String v : edges.keySet()) {
        if (!index.containsKey(v)) {
          visit(v);
        }
      }
      return result;
    }

    private void visit(String v) {
      index.put(v, next);
      low.put(v, next);
      next++;
      stack.push(v);
      onStack.add(v);
      for (String w : edges.get(v).keySet()) {
        if (!index.containsKey(w)) {
          visit(w);
          low.put(v, Math.min(low.get(v), low.get(w)));
        } else if (onStack.contains(w)) {
          low.put(v, Math.min(low.get(v), index.get(w)));
        }
      }
      if (low.get(v).equals(index.get(v))) {
        Set<String> component = new TreeSet<>();
        String w;
        do {
          w = stack.pop();
          onStack.remove(w);
          component.add(w);
        } while (!w.equals(v));
        result.add(component);
      }
    }
  }
}
