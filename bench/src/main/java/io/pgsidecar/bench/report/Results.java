package io.pgsidecar.bench.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** Reads results files (JSON lines) and reduces them to one figure per tool and point. */
public final class Results {

  private static final ObjectMapper JSON = new ObjectMapper();

  private Results() {}

  /** A point of a curve: one benchmark of one tool at one database size and streams. */
  public record Point(String bench, String tool, int scale, int streams) {}

  /**
   * Every measurement of the files, in order. Blank lines are skipped; any other line that is not
   * a JSON object with "bench" and "tool" fails with the file and line named.
   */
  public static List<Measurement> read(Collection<Path> files) {
    List<Measurement> all = new ArrayList<>();
    for (Path file : files) {
      List<String> lines;
      try {
        lines = Files.readAllLines(file);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read results file " + file + ": " + e.getMessage(), e);
      }
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).strip();
        if (!line.isEmpty()) {
          all.add(parse(file.getFileName() + ":" + (i + 1), line));
        }
      }
    }
    return all;
  }

  static Measurement parse(String source, String line) {
    Map<String, Object> fields;
    try {
      Object value = JSON.readValue(line, Object.class);
      if (!(value instanceof Map<?, ?> map)) {
        throw new IllegalArgumentException(source + ": not a JSON object: " + abbreviate(line)
            + " (each line is one object written by bench_record in bench/lib.sh; fix or delete the line)");
      }
      fields = new LinkedHashMap<>();
      map.forEach((k, v) -> fields.put(k.toString(), v));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(source + ": not JSON (" + e.getOriginalMessage() + "): "
          + abbreviate(line) + " (each line is one object written by bench_record in bench/lib.sh;"
          + " fix or delete the line)", e);
    }
    for (String required : List.of("bench", "tool")) {
      if (!(fields.get(required) instanceof String s) || s.isEmpty()) {
        throw new IllegalArgumentException(source + ": no \"" + required + "\" in " + abbreviate(line)
            + " (bench_record adds \"bench\"; the scripts pass tool=...)");
      }
    }
    return new Measurement(source, fields);
  }

  private static String abbreviate(String line) {
    return line.length() <= 120 ? line : line.substring(0, 117) + "...";
  }

  /**
   * The metric at every point: per point only the measurements of its latest run count (a newer
   * run replaces an older one, so the latest curve is drawn), and of those the median (several
   * rounds of one run). Points without the metric are absent.
   */
  public static Map<Point, Double> figures(Metric metric, List<Measurement> all) {
    Map<Point, List<Measurement>> byPoint = new LinkedHashMap<>();
    for (Measurement m : all) {
      if (m.bench().equals(metric.bench()) && metric.value().apply(m).isPresent()) {
        byPoint.computeIfAbsent(new Point(m.bench(), m.tool(), m.scale(), m.streams()), p -> new ArrayList<>()).add(m);
      }
    }
    Map<Point, Double> out = new TreeMap<>(POINT_ORDER);
    byPoint.forEach((point, ms) -> {
      String latest = ms.stream().map(Measurement::run).max(Comparator.naturalOrder()).orElseThrow();
      List<Double> values = ms.stream().filter(m -> m.run().equals(latest))
          .map(m -> metric.value().apply(m).getAsDouble()).toList();
      out.put(point, median(values));
    });
    return out;
  }

  /** Median of the 1-minute load averages of the latest run's measurements at each scale/streams. */
  public static Map<List<Integer>, Double> loads(String bench, List<Measurement> all) {
    Map<List<Integer>, List<Measurement>> by = all.stream().filter(m -> m.bench().equals(bench))
        .collect(Collectors.groupingBy(m -> List.of(m.scale(), m.streams()), LinkedHashMap::new, Collectors.toList()));
    Map<List<Integer>, Double> out = new LinkedHashMap<>();
    by.forEach((k, ms) -> {
      String latest = ms.stream().map(Measurement::run).max(Comparator.naturalOrder()).orElseThrow();
      List<Double> v = ms.stream().filter(m -> m.run().equals(latest)).map(m -> m.number("load1"))
          .filter(OptionalDouble::isPresent).map(OptionalDouble::getAsDouble).toList();
      if (!v.isEmpty()) {
        out.put(k, median(v));
      }
    });
    return out;
  }

  /** Database size (GB) per pgbench scale: the median of what the scripts measured. */
  public static Map<Integer, Double> databaseGb(List<Measurement> all) {
    Map<Integer, List<Double>> by = new TreeMap<>();
    for (Measurement m : all) {
      m.databaseGb().ifPresent(gb -> by.computeIfAbsent(m.scale(), s -> new ArrayList<>()).add(gb));
    }
    Map<Integer, Double> out = new TreeMap<>();
    by.forEach((s, v) -> out.put(s, median(v)));
    return out;
  }

  static double median(List<Double> values) {
    List<Double> v = values.stream().sorted().toList();
    int n = v.size();
    return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
  }

  /** pgsidecar before its peers, then by name; scales and streams ascending. */
  static final Comparator<String> TOOL_ORDER =
      Comparator.comparing((String t) -> !t.equals("pgsidecar")).thenComparing(Comparator.naturalOrder());

  static final Comparator<Point> POINT_ORDER = Comparator.comparing(Point::bench)
      .thenComparingInt(Point::scale).thenComparingInt(Point::streams).thenComparing(Point::tool, TOOL_ORDER);
}
