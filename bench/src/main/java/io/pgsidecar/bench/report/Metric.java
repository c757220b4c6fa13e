package io.pgsidecar.bench.report;

import java.util.List;
import java.util.OptionalDouble;
import java.util.function.Function;

/**
 * One figure the report draws: taken from the measurements of one benchmark script.
 *
 * @param id file name of its chart ({@code id.png})
 * @param bench the script ({@code backup}, {@code restore}, {@code wal-archive})
 * @param title what it is, with its unit
 * @param higherIsBetter for the reader's sake: said under the table
 * @param value the figure of one measurement, empty when the line lacks what it needs
 */
public record Metric(String id, String bench, String title, boolean higherIsBetter,
    Function<Measurement, OptionalDouble> value) {

  /** Absolute costs in seconds: the report splits them into a fixed and a per-GB part. */
  public static final List<String> FITTED = List.of("backup-wall", "backup-cpu", "restore-wall", "restore-cpu");

  /** Everything bench/curves.sh measures, in the report's order. */
  public static final List<Metric> ALL = List.of(
      new Metric("backup-s-per-gb", "backup", "Base backup wall time, s per GB of database", false,
          m -> perGb(m, seconds(m, "wall_ms"))),
      new Metric("backup-cpu-per-gb", "backup", "Base backup CPU (user + system), s per GB of database", false,
          m -> perGb(m, seconds(m, "cpu_ms"))),
      new Metric("backup-wall", "backup", "Base backup wall time, s", false, m -> seconds(m, "wall_ms")),
      new Metric("backup-cpu", "backup", "Base backup CPU (user + system), s", false, m -> seconds(m, "cpu_ms")),
      new Metric("backup-rss", "backup", "Agent peak RSS during a base backup, MiB", false,
          m -> m.number("rss_peak_mib")),
      new Metric("backup-heap", "backup", "Agent heap after GC during a base backup (largest), MiB", false,
          m -> m.number("heap_during_mib")),
      new Metric("backup-heap-live", "backup", "Agent live heap after a base backup, MiB", false,
          m -> m.number("heap_live_mib")),
      new Metric("restore-s-per-gb", "restore", "Restore step wall time (download, decode, unpack),"
          + " s per GB of database", false, m -> perGb(m, seconds(m, "restore_ms"))),
      new Metric("restore-cpu-per-gb", "restore", "Restore step CPU (user + system), s per GB of database",
          false, m -> perGb(m, sum(m.number("cpu_user_s"), m.number("cpu_sys_s")))),
      new Metric("restore-wall", "restore", "Restore step wall time, s", false, m -> seconds(m, "restore_ms")),
      new Metric("restore-cpu", "restore", "Restore step CPU (user + system), s", false,
          m -> sum(m.number("cpu_user_s"), m.number("cpu_sys_s"))),
      new Metric("replay-wall", "restore", "WAL replay to promotion, s (same WAL_MB at every size)", false,
          m -> seconds(m, "replay_ms")),
      new Metric("wal-archived", "wal-archive", "WAL archived under pgbench load (incl. drain), MB/s", true,
          m -> m.number("archived_mbs")),
      new Metric("wal-drain", "wal-archive", "WAL backlog drained, MB/s", true, m -> m.number("drain_mbs")),
      new Metric("wal-rss", "wal-archive", "Agent peak RSS while archiving, MiB", false,
          m -> m.number("rss_peak_mib")),
      new Metric("wal-backlog", "wal-archive", "Peak .ready backlog under load, segments", false,
          m -> m.number("peak_ready")));

  static OptionalDouble seconds(Measurement m, String millisKey) {
    OptionalDouble ms = m.number(millisKey);
    return ms.isPresent() ? OptionalDouble.of(ms.getAsDouble() / 1000) : OptionalDouble.empty();
  }

  static OptionalDouble perGb(Measurement m, OptionalDouble v) {
    OptionalDouble gb = m.databaseGb();
    return v.isPresent() && gb.isPresent() && gb.getAsDouble() > 0
        ? OptionalDouble.of(v.getAsDouble() / gb.getAsDouble()) : OptionalDouble.empty();
  }

  static OptionalDouble sum(OptionalDouble a, OptionalDouble b) {
    return a.isPresent() && b.isPresent() ? OptionalDouble.of(a.getAsDouble() + b.getAsDouble())
        : OptionalDouble.empty();
  }
}
