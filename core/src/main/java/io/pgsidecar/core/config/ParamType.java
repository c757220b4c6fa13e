package io.pgsidecar.core.config;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the text of one configuration value becomes a typed value and back: a parser that throws
 * {@link IllegalArgumentException} on bad input, the phrase naming what was expected (used in
 * the error "key: expected &lt;phrase&gt;, got 'value'" and in docs/configuration.md), and a
 * formatter for {@code config show}. The same text form works in YAML and in environment
 * variables, which is why lists are also accepted as comma-separated text.
 *
 * @param expected what a valid value looks like, e.g. "a size such as 8MiB"
 * @param parser text to value; throws IllegalArgumentException when the text is not valid
 * @param formatter value back to text (for lists: to a list of texts)
 */
public record ParamType<T>(String expected, Function<String, T> parser, Function<T, Object> formatter) {

  public T parse(String text) {
    return parser.apply(text);
  }

  /** The value as {@code config show} prints it: a String, or a List of Strings. */
  @SuppressWarnings("unchecked")
  public Object format(Object value) {
    return formatter.apply((T) value);
  }

  public static ParamType<String> string() {
    return new ParamType<>("a non-empty text", s -> require(s, !s.isEmpty()), s -> s);
  }

  /** Text matching {@code pattern}; {@code expected} says in words what that is. */
  public static ParamType<String> matching(String expected, String pattern) {
    Pattern p = Pattern.compile(pattern);
    return new ParamType<>(expected, s -> require(s, p.matcher(s).matches()), s -> s);
  }

  public static ParamType<Integer> integer(int min, int max) {
    return new ParamType<>("an integer from " + min + " to " + max, s -> {
      int v;
      try {
        v = Integer.parseInt(s);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(s);
      }
      return require(v, v >= min && v <= max);
    }, String::valueOf);
  }

  public static ParamType<Boolean> bool() {
    return new ParamType<>("true or false", s -> switch (s) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException(s);
    }, String::valueOf);
  }

  private static final String[] SIZE_UNITS = {"B", "KiB", "MiB", "GiB", "TiB"};
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB|TiB)?");

  /** A byte count written with binary units: {@code 8MiB}, {@code 1GiB}, {@code 512KiB}, {@code 4096}. */
  public static ParamType<Long> size(long min, long max) {
    String expected = "a size such as 8MiB (units B, KiB, MiB, GiB, TiB)"
        + (min > 0 || max < Long.MAX_VALUE ? " from " + formatSize(min) + " to " + formatSize(max) : "");
    return new ParamType<>(expected, s -> {
      Matcher m = SIZE.matcher(s);
      if (!m.matches()) {
        throw new IllegalArgumentException(s);
      }
      int unit = m.group(2) == null ? 0 : Arrays.asList(SIZE_UNITS).indexOf(m.group(2));
      long v;
      try {
        v = Math.multiplyExact(Long.parseLong(m.group(1)), 1L << (10 * unit));
      } catch (ArithmeticException | NumberFormatException e) {
        throw new IllegalArgumentException(s);
      }
      return require(v, v >= min && v <= max);
    }, ParamType::formatSize);
  }

  static String formatSize(long bytes) {
    int unit = 0;
    while (unit < SIZE_UNITS.length - 1 && bytes != 0 && bytes % 1024 == 0) {
      bytes /= 1024;
      unit++;
    }
    return bytes + SIZE_UNITS[unit];
  }

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  /**
   * The longest duration a key takes: every one is a timeout or an interval, and a longer one
   * overflows the nanosecond deadlines they become (292 years), or is a typo.
   */
  static final Duration MAX_DURATION = Duration.ofDays(365);

  /** A duration such as {@code 30s}, {@code 5m}, {@code 1h}, {@code 250ms}, {@code 2d}; at most 365d. */
  public static ParamType<Duration> duration() {
    return new ParamType<>("a duration such as 30s, 5m or 1h (units ms, s, m, h, d) up to 365d", s -> {
      Matcher m = DURATION.matcher(s);
      if (!m.matches()) {
        throw new IllegalArgumentException(s);
      }
      try {
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        };
        return require(d, d.compareTo(MAX_DURATION) <= 0);
      } catch (ArithmeticException | NumberFormatException e) {
        throw new IllegalArgumentException(s);
      }
    }, ParamType::formatDuration);
  }

  static String formatDuration(Duration d) {
    long ms = d.toMillis();
    if (ms % 1000 != 0) {
      return ms + "ms";
    }
    long s = ms / 1000;
    if (s == 0 || s % 60 != 0) {
      return s + "s";
    }
    if (s % 86_400 == 0) {
      return s / 86_400 + "d";
    }
    return s % 3600 == 0 ? s / 3600 + "h" : s / 60 + "m";
  }

  public static ParamType<Path> path() {
    return new ParamType<>("a file system path", ParamType::toPath, Path::toString);
  }

  /** Several paths: a YAML list, or text separated by commas. */
  public static ParamType<List<Path>> pathList() {
    return new ParamType<>("a list of file system paths (YAML list or comma-separated)",
        s -> split(s).stream().map(ParamType::toPath).toList(),
        l -> l.stream().map(Path::toString).toList());
  }

  public static ParamType<List<String>> stringList() {
    return new ParamType<>("a list of names (YAML list or comma-separated)", ParamType::split,
        l -> List.copyOf(l));
  }

  /** One of the constants of {@code type}, written in lower-kebab-case: {@code workload-identity}. */
  public static <E extends Enum<E>> ParamType<E> enumOf(Class<E> type) {
    List<String> names = Arrays.stream(type.getEnumConstants()).map(ParamType::kebab).toList();
    return new ParamType<>("one of " + String.join(", ", names), s -> {
      int i = names.indexOf(s);
      if (i < 0) {
        throw new IllegalArgumentException(s);
      }
      return type.getEnumConstants()[i];
    }, ParamType::kebab);
  }

  /** One of a fixed set of words, kept as text. */
  public static ParamType<String> oneOf(String... words) {
    List<String> choices = List.of(words);
    return new ParamType<>("one of " + String.join(", ", choices),
        s -> require(s, choices.contains(s)), s -> s);
  }

  private static final Pattern CRON_FIELD = Pattern.compile("[0-9A-Za-z*,/?#LW-]+");

  /**
   * A cron expression of 5 fields kept as text; the scheduler parses it fully. Checked here for
   * the field count so that a 6-field (Quartz, with seconds) expression fails at start-up.
   */
  public static ParamType<String> cron() {
    return new ParamType<>(
        "a cron expression of 5 fields (minute hour day-of-month month day-of-week) such as '0 3 * * *'",
        s -> {
          String[] fields = s.trim().split("\\s+");
          boolean ok = fields.length == 5
              && Arrays.stream(fields).allMatch(f -> CRON_FIELD.matcher(f).matches());
          return require(String.join(" ", fields), ok);
        }, s -> s);
  }

  public static ParamType<ZoneId> zone() {
    return new ParamType<>("a time zone such as UTC or Europe/Paris", s -> {
      try {
        return ZoneId.of(s);
      } catch (DateTimeException e) {
        throw new IllegalArgumentException(s);
      }
    }, ZoneId::getId);
  }

  /** An Azure storage connection string: {@code key=value} pairs separated by {@code ;}. */
  public static ParamType<String> connectionString() {
    return new ParamType<>("key=value pairs separated by ';' such as AccountName=...;AccountKey=...", s -> {
      boolean ok = Arrays.stream(s.split(";")).filter(p -> !p.isBlank()).allMatch(p -> p.indexOf('=') > 0)
          && s.contains("=");
      return require(s, ok);
    }, s -> s);
  }

  static String kebab(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  private static Path toPath(String s) {
    require(s, !s.isEmpty()); // Path.of("") is the working directory: a value of spaces is a slip
    try {
      return Path.of(s);
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException(s);
    }
  }

  private static List<String> split(String s) {
    List<String> out = new ArrayList<>();
    for (String part : s.split(",")) {
      if (!part.isBlank()) {
        out.add(part.trim());
      }
    }
    return List.copyOf(out);
  }

  private static <V> V require(V value, boolean ok) {
    if (!ok) {
      throw new IllegalArgumentException(String.valueOf(value));
    }
    return value;
  }

  @Override
  public String toString() {
    return expected;
  }

}
