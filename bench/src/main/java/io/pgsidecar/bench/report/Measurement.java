package io.pgsidecar.bench.report;

import java.util.Map;
import java.util.OptionalDouble;

/**
 * One line of a results file: what {@code bench_record} (bench/lib.sh) wrote for one measurement
 * of one tool, e.g. {@code {"bench":"backup","tool":"pgsidecar","scale":100,"streams":2,
 * "wall_ms":12345,...}}.
 *
 * @param source where it was read ({@code file:line}), for messages
 */
public record Measurement(String source, Map<String, Object> fields) {

  public String text(String key) {
    Object v = fields.get(key);
    return v == null ? "" : v.toString();
  }

  public OptionalDouble number(String key) {
    return fields.get(key) instanceof Number n ? OptionalDouble.of(n.doubleValue()) : OptionalDouble.empty();
  }

  public String bench() {
    return text("bench");
  }

  public String tool() {
    return text("tool");
  }

  /** pgbench scale, or -1 when the line has none. */
  public int scale() {
    return (int) number("scale").orElse(-1);
  }

  /** Upload streams of the point (bench/curves.sh's BENCH_STREAMS), or -1 when the line has none. */
  public int streams() {
    return (int) number("streams").orElse(-1);
  }

  /** The run it belongs to (BENCH_RUN), else its time: a later run sorts after an earlier one. */
  public String run() {
    return fields.containsKey("run") ? text("run") : text("time");
  }

  /** Database size in GB (10^9 bytes) measured by the script, if it did. */
  public OptionalDouble databaseGb() {
    OptionalDouble b = number("db_bytes");
    return b.isPresent() ? OptionalDouble.of(b.getAsDouble() / 1e9) : OptionalDouble.empty();
  }
}
