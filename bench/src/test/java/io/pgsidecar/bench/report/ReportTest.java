package io.pgsidecar.bench.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.bench.report.Results.Point;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report's parsing, reduction and tables on hand-written result lines; runs no benchmark. */
class ReportTest {

  @TempDir
  Path dir;

  @BeforeAll
  static void headless() {
    System.setProperty("java.awt.headless", "true");
  }

  private static final String LINES = """
      {"bench": "backup", "run": "R1", "load1": 2.0, "streams": 2, "tool": "pgsidecar", "scale": 25, "wall_ms": 9000, "db_bytes": 400000000, "rss_peak_mib": 200, "cpu_ms": 3000}
      {"bench": "backup", "run": "R2", "load1": 1.0, "streams": 2, "tool": "pgsidecar", "scale": 25, "round": 1, "wall_ms": 3000, "db_bytes": 400000000, "rss_peak_mib": 210, "cpu_ms": 2000}
      {"bench": "backup", "run": "R2", "load1": 3.0, "streams": 2, "tool": "pgsidecar", "scale": 25, "round": 2, "wall_ms": 5000, "db_bytes": 400000000, "rss_peak_mib": 214, "cpu_ms": 2400}

      {"bench": "backup", "run": "R2", "load1": 2.0, "streams": 2, "tool": "pgbackrest", "scale": 25, "wall_ms": 5000, "db_bytes": 400000000, "cpu_ms": 1000}
      {"bench": "backup", "run": "R2", "load1": 2.0, "streams": 2, "tool": "pgsidecar", "scale": 100, "wall_ms": 8000, "db_bytes": 1600000000, "rss_peak_mib": 220, "cpu_ms": 5000}
      {"bench": "backup", "run": "R2", "load1": 2.0, "streams": 2, "tool": "pgbackrest", "scale": 100, "wall_ms": 10000, "db_bytes": 1600000000, "cpu_ms": 4000}
      {"bench": "backup", "run": "R2", "load1": 2.0, "streams": 4, "tool": "pgsidecar", "scale": 25, "wall_ms": 2000, "db_bytes": 400000000, "rss_peak_mib": 230, "cpu_ms": 2100}
      {"bench": "restore", "run": "R2", "load1": 4.0, "streams": 2, "tool": "pgsidecar", "scale": 25, "restore_ms": 4000, "replay_ms": 9000, "db_bytes": 400000000, "cpu_user_s": 1.5, "cpu_sys_s": 0.5}
      """;

  private List<Measurement> measurements() throws IOException {
    Path f = dir.resolve("r.jsonl");
    Files.writeString(f, LINES);
    return Results.read(List.of(f));
  }

  @Test
  void readsEveryLineAndSkipsBlankOnes() throws IOException {
    List<Measurement> all = measurements();
    assertEquals(8, all.size());
    Measurement m = all.get(1);
    assertEquals("r.jsonl:2", m.source());
    assertEquals("backup", m.bench());
    assertEquals("pgsidecar", m.tool());
    assertEquals(25, m.scale());
    assertEquals(2, m.streams());
    assertEquals(0.4, m.databaseGb().getAsDouble(), 1e-9);
    assertEquals("r.jsonl:5", all.get(3).source()); // the blank line 4 is counted, not read
  }

  @Test
  void aBadLineIsNamedWithItsFileAndLine() throws IOException {
    Path f = dir.resolve("bad.jsonl");
    Files.writeString(f, "{\"bench\": \"backup\", \"tool\": \"pgsidecar\"}\n{\"bench\": \"backup\", wall_ms: 3}\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Results.read(List.of(f)));
    assertTrue(e.getMessage().startsWith("bad.jsonl:2: not JSON ("), e.getMessage());
    assertTrue(e.getMessage().endsWith("fix or delete the line)"), e.getMessage());

    Files.writeString(f, "[1, 2]\n");
    e = assertThrows(IllegalArgumentException.class, () -> Results.read(List.of(f)));
    assertEquals("bad.jsonl:1: not a JSON object: [1, 2] (each line is one object written by bench_record in"
        + " bench/lib.sh; fix or delete the line)", e.getMessage());

    Files.writeString(f, "{\"bench\": \"backup\", \"scale\": 25}\n");
    e = assertThrows(IllegalArgumentException.class, () -> Results.read(List.of(f)));
    assertEquals("bad.jsonl:1: no \"tool\" in {\"bench\": \"backup\", \"scale\": 25} (bench_record adds"
        + " \"bench\"; the scripts pass tool=...)", e.getMessage());
  }

  @Test
  void theLatestRunOfAPointCountsAndItsRoundsGiveTheMedian() throws IOException {
    Map<Point, Double> wall = Results.figures(metric("backup-wall"), measurements());
    // R1's 9 s is replaced by R2's rounds, 3 and 5 s: median 4 s
    assertEquals(4.0, wall.get(new Point("backup", "pgsidecar", 25, 2)));
    assertEquals(5.0, wall.get(new Point("backup", "pgbackrest", 25, 2)));
    assertEquals(5, wall.size());
    Map<Point, Double> perGb = Results.figures(metric("backup-s-per-gb"), measurements());
    assertEquals(10.0, perGb.get(new Point("backup", "pgsidecar", 25, 2)), 1e-9);   // 4 s / 0.4 GB
    assertEquals(5.0, perGb.get(new Point("backup", "pgsidecar", 100, 2)), 1e-9);   // 8 s / 1.6 GB
    Map<Point, Double> restoreCpu = Results.figures(metric("restore-cpu-per-gb"), measurements());
    assertEquals(Map.of(new Point("restore", "pgsidecar", 25, 2), 5.0), restoreCpu); // 2 s / 0.4 GB
  }

  @Test
  void theTableHasARowPerScaleAndStreamsAndTheRatio() throws IOException {
    List<Measurement> all = measurements();
    Metric metric = metric("backup-s-per-gb");
    String table = Report.table(metric, Results.figures(metric, all), Results.databaseGb(all),
        Results.loads("backup", all));
    assertEquals("""
        | pgbench scale | database GB | streams | pgsidecar | pgbackrest | ratio | load |
        |---:|---:|---:|---:|---:|---:|---:|
        | 25 | 0.40 | 2 | 10.0 | 12.5 | 0.80 | 2.0 |
        | 25 | 0.40 | 4 | 5.00 |  |  | 2.0 |
        | 100 | 1.60 | 2 | 5.00 | 6.25 | 0.80 | 2.0 |

        Lower is better.
        """, table);
  }

  @Test
  void curvesRunAlongSizeAtTheStreamsWithMostSizesAndAlongStreamsAtTheScaleWithMostStreams()
      throws IOException {
    Map<Point, Double> rss = Results.figures(metric("backup-rss"), measurements());
    Report.Curve size = Report.sizeCurve(rss).orElseThrow();
    assertEquals(2, size.fixed());
    assertEquals(Map.of("pgsidecar", new java.util.TreeMap<>(Map.of(25, 212.0, 100, 220.0))), size.lines());
    Report.Curve streams = Report.streamsCurve(rss).orElseThrow();
    assertEquals(25, streams.fixed());
    assertEquals(Map.of(2, 212.0, 4, 230.0), streams.lines().get("pgsidecar"));
    // one point per tool is no curve
    assertTrue(Report.sizeCurve(Results.figures(metric("restore-wall"), measurements())).isEmpty());
  }

  @Test
  void writesThePageAndAPngPerCurve() throws IOException {
    Path out = dir.resolve("out");
    Files.createDirectories(out);
    String page = Report.write(measurements(), List.of(dir.resolve("r.jsonl")), out);
    assertEquals(page, Files.readString(out.resolve("README.md")));
    assertTrue(page.contains("| Agent peak RSS during a base backup, MiB | pgsidecar | 2 | -s 25 → -s 100 | 212 → 220 | 1.04x |"),
        page);
    assertTrue(page.contains("![Base backup wall time, s by database size](backup-wall-size.png)"), page);
    // 4 s at 0.4 GB and 8 s at 1.6 GB: 2.67 s + 3.33 s per GB
    assertTrue(page.contains("| Base backup wall time, s | pgsidecar | 2 | 2 | 2.67 | 3.33 |"), page);
    byte[] png = Files.readAllBytes(out.resolve("backup-wall-size.png"));
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
    assertTrue(Files.exists(out.resolve("backup-rss-streams.png")));
    // restore has one point: a table, no chart
    assertTrue(page.contains("## Restore step wall time, s\n\n| pgbench scale"), page);
    assertTrue(Files.notExists(out.resolve("restore-wall-size.png")));
  }

  @Test
  void theFitIsTheLeastSquaresLine() {
    double[] f = Report.fit(new java.util.TreeMap<>(Map.of(1.0, 3.0, 2.0, 5.0, 3.0, 7.5)));
    assertEquals(0.6667, f[0], 1e-4); // y = 0.6667 + 2.25 x
    assertEquals(2.25, f[1], 1e-9);
  }

  private static Metric metric(String id) {
    return Metric.ALL.stream().filter(m -> m.id().equals(id)).findFirst().orElseThrow();
  }
}
