package io.pgsidecar.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.pgsidecar.core.Fuzz;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random values for every configuration key, from the environment and from YAML (quoted,
 * so the text arrives as written, and raw, so YAML reads it its own way): durations, sizes,
 * integers, enums, paths, booleans, lists, cron, names. Whatever the value, loading either gives
 * a configuration or a {@link ConfigException}, never another exception; a refused value gets a
 * one-line error naming the key and the value (secrets redacted, control characters escaped);
 * an accepted value round-trips through its type's formatter, and the whole configuration
 * round-trips through {@code config show} ({@link ConfigPrinter}) loaded back as a file.
 * Replay with {@code -Dpgsidecar.fuzz.seed=N}.
 */
class ConfigValueFuzzTest {

  private static final long SEED = Fuzz.seed(ConfigValueFuzzTest.class);
  private static final Map<String, String> MINIMAL =
      Map.of("PGSIDECAR_CLUSTER", "main", "PGSIDECAR_STORAGE_PATH", "/repo");

  @TempDir(factory = Fuzz.MemoryTempDir.class) Path dir;

  private static final String[] ANY = {"", " ", "\t", "~", "null", "yes", "no", "on", "off", "True",
      "FALSE", "0", "-1", "+5", "1e3", "0x10", "0o17", ".inf", "-.inf", ".nan", "[a, b]", "{a: b}",
      "- a", "# c", "&a x", "*a", "!!binary AAAA", "'q'", "\"dq\"", "a: b", "\0", "\n", "line\nbreak",
      "\u0663\u0660", "\uff13\uff10s", "\u00e9", "\ud83d\ude00", "x".repeat(5000), "9".repeat(30),
      "/", "../..", "a/".repeat(20_000), "a,b,,c", " , ", "%s%n", "${HOME}", "\u2028", "\u007f", "-", "--"};
  private static final String[] UNITS = {"ms", "s", "m", "h", "d", "S", "M", "D", "sec", "min", "",
      "B", "KiB", "MiB", "GiB", "TiB", "kb", "MB", "KB", "PiB", " MiB", "\u00b5s", "ns"};

  /** A value shaped for {@code p}'s type, or anything at all. */
  private static String randomValue(Random r, Param<?> p) {
    String expected = p.type().expected();
    if (r.nextInt(4) == 0) {
      return ANY[r.nextInt(ANY.length)];
    }
    String number = switch (r.nextInt(6)) {
      case 0 -> "0";
      case 1 -> Long.toString(r.nextInt(100));
      case 2 -> Long.toString(Long.MAX_VALUE);
      case 3 -> "9223372036854775808";
      case 4 -> Integer.toString(r.nextInt());
      default -> Long.toString(r.nextLong() & Long.MAX_VALUE);
    };
    if (expected.startsWith("a duration") || expected.startsWith("a size")) {
      return (r.nextInt(8) == 0 ? " " : "") + number + UNITS[r.nextInt(UNITS.length)];
    }
    if (expected.startsWith("an integer")) {
      return r.nextInt(3) == 0 ? number : Integer.toString(r.nextInt(70_000) - 100);
    }
    if (expected.startsWith("one of ")) {
      String[] words = expected.substring(7).split(", ");
      String w = words[r.nextInt(words.length)];
      return switch (r.nextInt(4)) {
        case 0 -> w.toUpperCase(java.util.Locale.ROOT);
        case 1 -> w.replace('-', '_');
        default -> w;
      };
    }
    if (expected.startsWith("true or false")) {
      return List.of("true", "false", "TRUE", "1", "yes", "t").get(r.nextInt(6));
    }
    if (expected.contains("path")) {
      return List.of("/a/b", "rel/x", "/a,/b", "/tmp/\u00e9", "/a/../b", "a\0b", "/x/" + "y".repeat(300)).get(r.nextInt(7));
    }
    if (expected.startsWith("a cron")) {
      return List.of("0 3 * * *", "*/5 * * * * *", "0 3 * *", "@daily", "0 3 * * MON-FRI", "  0  3 * * * ").get(r.nextInt(6));
    }
    return List.of("main", "db-1", "a.b", "..", ".x", "-", "UTC", "Europe/Paris", "0/3000028",
        "20261122T021500Z", "latest", "https://x.blob.core.windows.net", "AccountName=a;AccountKey=b",
        "prod//eu/", "0660", "0680", "postgres", "2026-11-22T02:15:00Z").get(r.nextInt(18));
  }

  /** The YAML text of {@code key: value}, nested or dotted, the value quoted or raw. */
  private static String yaml(Random r, String key, String value, boolean quoted) {
    String v = quoted ? "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
        .replace("\0", "\\0").replace("\t", "\\t").replace("\u2028", "\\L").replace("\u007f", "\\x7F") + "\"" : value;
    if (r.nextBoolean()) {
      return key + ": " + v + "\n";
    }
    String[] parts = key.split("\\.");
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < parts.length; i++) {
      sb.append("  ".repeat(i)).append(parts[i]).append(":").append(i == parts.length - 1 ? " " + v : "").append("\n");
    }
    return sb.toString();
  }

  enum Via { ENV, YAML_QUOTED, YAML_RAW }

  /** Null when loading {@code value} for {@code p} kept the contract, else what broke. */
  private String violation(Param<?> p, String value, Via via, Random r) throws IOException {
    Map<String, String> env = new HashMap<>(MINIMAL);
    env.remove(p.envVar()); // the environment would win over the file
    Optional<Path> file = Optional.empty();
    if (via == Via.ENV || p.secret()) {
      if (value.indexOf('\0') >= 0) {
        return null; // no environment variable can hold a NUL
      }
      env.put(p.envVar(), value);
    } else {
      Path f = dir.resolve("c.yaml");
      Files.writeString(f, yaml(r, p.key(), value, via == Via.YAML_QUOTED));
      file = Optional.of(f);
    }
    PgsidecarConfig config;
    try {
      config = ConfigLoader.load(file, env);
    } catch (ConfigException e) {
      return refusalProblem(p, value, via, e);
    } catch (RuntimeException | Error e) {
      return "threw " + e;
    }
    if (value.trim().isEmpty() || via == Via.YAML_RAW) {
      return roundTripsThroughConfigShow(config); // unset, or YAML's own reading of the text
    }
    Object typed;
    try {
      typed = p.type().parse(value.trim());
    } catch (IllegalArgumentException e) {
      return "loaded, but the type refuses it: " + e;
    }
    if (List.of("cluster", "restore.from-cluster", "storage.prefix").contains(p.key())) {
      try {
        new io.pgsidecar.core.repo.RepositoryLayout(config.storage().prefix(),
            config.restore().fromCluster().orElse(config.cluster()));
      } catch (IllegalArgumentException e) {
        return "accepted, but no repository layout can use it: " + e.getMessage();
      }
    }
    Object effective = p.read().apply(config);
    effective = effective instanceof Optional<?> o ? o.orElse(null) : effective;
    if (!p.key().equals("storage.prefix") && !typed.equals(effective)) {
      return "loaded as " + effective + ", parsed as " + typed;
    }
    try {
      Object formatted = p.type().format(typed);
      String text = formatted instanceof List<?> l ? String.join(",", l.stream().map(String::valueOf).toList())
          : String.valueOf(formatted);
      if (!(typed instanceof List<?> l && l.isEmpty()) && !typed.equals(p.type().parse(text))) {
        return "formatted as " + Fuzz.literal(text) + ", which parses to " + p.type().parse(text);
      }
    } catch (RuntimeException e) {
      return "accepted, but formatting it back fails: " + e;
    }
    return roundTripsThroughConfigShow(config);
  }

  private static String refusalProblem(Param<?> p, String value, Via via, ConfigException e) {
    String m = e.getMessage();
    // (a YAML syntax error keeps the parser's own snippet of the file, with its caret line)
    if (e.errors().stream().filter(line -> !line.contains("is not valid YAML")).anyMatch(line ->
        line.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == 0x2028))) {
      return "an error line holds a raw control character: " + Fuzz.literal(m);
    }
    if (p.secret() && value.length() > 3 && m.contains(value)) {
      return "the secret value appears in the error";
    }
    if (via == Via.YAML_RAW && m.contains("is not valid YAML") && m.contains("(line ")) {
      return null; // the file itself is broken: its line is named
    }
    if (e.errors().stream().noneMatch(line -> line.contains(p.key()) || line.contains(p.envVar()))) {
      return "no error names the key: " + Fuzz.literal(m);
    }
    String parseError = p.key() + ": expected " + p.type().expected() + ", got ";
    for (String line : e.errors()) {
      if (line.startsWith(parseError)) {
        String shown = line.substring(parseError.length());
        String head = value.length() > 20 ? value.substring(0, 20) : value;
        boolean named = p.secret() ? shown.startsWith("<redacted>")
            : via == Via.YAML_RAW || shown.startsWith("'" + head) || !head.chars().allMatch(c -> c >= 0x20 && c < 0x7f);
        if (!named || line.length() > 600) {
          return "the error does not show the value clearly: " + Fuzz.literal(line);
        }
      }
    }
    return null;
  }

  /** {@code config show} of {@code config}, loaded back as a file, gives the same values. */
  private String roundTripsThroughConfigShow(PgsidecarConfig config) throws IOException {
    String shown;
    try {
      shown = ConfigPrinter.yaml(config);
    } catch (RuntimeException e) {
      return "config show fails: " + e;
    }
    ObjectNode tree;
    try {
      tree = (ObjectNode) new YAMLMapper().readTree(shown);
    } catch (IOException e) {
      return "config show's output is not YAML that reads back: " + e.getMessage() + "\n" + shown;
    }
    for (Param<?> p : ConfigParameters.ALL) {
      if (p.secret()) {
        String[] parts = p.key().split("\\.");
        JsonNode parent = tree;
        for (int i = 0; i < parts.length - 1; i++) {
          parent = parent.get(parts[i]);
        }
        ((ObjectNode) parent).remove(parts[parts.length - 1]);
      }
    }
    Path f = dir.resolve("shown.yaml");
    Files.writeString(f, new YAMLMapper().writeValueAsString(tree));
    Map<String, String> secrets = new HashMap<>();
    PgsidecarConfig again;
    try {
      again = ConfigLoader.load(Optional.of(f), secrets);
    } catch (RuntimeException e) {
      return "config show's output does not load back: " + e.getMessage() + "\n" + shown;
    }
    for (Param<?> p : ConfigParameters.ALL) {
      if (!p.secret() && !p.read().apply(config).equals(p.read().apply(again))) {
        return "config show changed " + p.key() + ": " + p.read().apply(config) + " became "
            + p.read().apply(again);
      }
    }
    return null;
  }

  @Test
  void everyKeyTakesRandomValuesFromEnvAndYamlWithoutCrashingAndRoundTrips() throws IOException {
    Random r = new Random(SEED);
    int accepted = 0;
    int refused = 0;
    List<Param<?>> params = new ArrayList<>(ConfigParameters.ALL);
    for (int i = 0; i < 2000; i++) {
      Param<?> p = params.get(r.nextInt(params.size()));
      String value = randomValue(r, p);
      Via via = Via.values()[r.nextInt(3)];
      long yamlSeed = r.nextLong();
      String problem = violation(p, value, via, new Random(yamlSeed));
      if (problem != null) {
        String minimal = Fuzz.shrink(value, v -> {
          try {
            return violation(p, v, via, new Random(yamlSeed)) != null;
          } catch (IOException e) {
            return true;
          }
        });
        throw new AssertionError("seed " + SEED + " case " + i + ": " + p.key() + " = "
            + Fuzz.literal(value) + " via " + via + ": " + problem + "\nminimal failing value: "
            + Fuzz.literal(minimal) + ": " + violation(p, minimal, via, new Random(yamlSeed)));
      }
      Map<String, String> env = new HashMap<>(MINIMAL);
      env.put(p.envVar(), value.replace("\0", ""));
      try {
        ConfigLoader.load(Optional.empty(), env);
        accepted++;
      } catch (ConfigException e) {
        refused++;
      }
    }
    System.out.println("ConfigValueFuzzTest: " + accepted + " accepted, " + refused + " refused");
    assertTrue(accepted > 400 && refused > 400, accepted + " accepted, " + refused + " refused");
  }

  /** Values that each broke a rule once: the fuzz test found them; kept as plain cases. */
  @Test
  void durationsTooLongForATimerAreRefused() {
    var e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
        () -> ConfigLoader.load(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "main",
            "PGSIDECAR_STORAGE_PATH", "/repo", "PGSIDECAR_STORAGE_TIMEOUT", "200000d")));
    assertEquals(List.of("storage.timeout: expected " + ParamType.duration().expected()
        + ", got '200000d' (from PGSIDECAR_STORAGE_TIMEOUT)"), e.errors());
  }

  private static List<String> errors(Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(MINIMAL);
    env.putAll(extra);
    return org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
        () -> ConfigLoader.load(Optional.empty(), env)).errors();
  }

  /** Regression: the prefix's regular expression recursed per name (StackOverflowError at 5000). */
  @Test
  void aPrefixOfManyNamesIsCheckedWithoutRecursion() {
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "main",
        "PGSIDECAR_STORAGE_PATH", "/repo", "PGSIDECAR_STORAGE_PREFIX", "a/".repeat(20_000)));
    assertEquals(20_000, c.storage().prefix().split("/").length);
    assertEquals(List.of("storage.prefix: expected " + ConfigParameters.pathOfNames().expected()
        + ", got '" + "a/".repeat(100) + "...' (40001 characters) (from PGSIDECAR_STORAGE_PREFIX)"),
        errors(Map.of("PGSIDECAR_STORAGE_PREFIX", "a/".repeat(20_000) + ".")));
  }

  /** Regression: '..' and '.x' passed the config and failed later as keys (or left the repository). */
  @Test
  void clusterNamesAndPrefixFoldersStartingWithADotAreRefused() {
    assertEquals(List.of("cluster: expected a name of letters, digits, '.', '_' and '-', not starting"
        + " with '.', got '..' (from PGSIDECAR_CLUSTER)"), errors(Map.of("PGSIDECAR_CLUSTER", "..")));
    assertEquals(List.of("restore.from-cluster: expected a name of letters, digits, '.', '_' and '-',"
        + " not starting with '.', got '.x' (from PGSIDECAR_RESTORE_FROM_CLUSTER)"),
        errors(Map.of("PGSIDECAR_RESTORE_FROM_CLUSTER", ".x")));
    assertEquals(1, errors(Map.of("PGSIDECAR_STORAGE_PREFIX", "prod/../..")).size());
    assertEquals("prod/eu", ConfigLoader.load(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "db.1",
        "PGSIDECAR_STORAGE_PATH", "/repo", "PGSIDECAR_STORAGE_PREFIX", "//prod//eu/")).storage().prefix());
  }

  /** Regression: a value of spaces became an empty host or the working directory. */
  @Test
  void aValueOfSpacesIsNotAnEmptyTextNorAPath() {
    assertEquals(List.of("pgdata: expected a file system path, got '  ' (from PGSIDECAR_PGDATA)",
        "metrics.host: expected a non-empty text, got ' ' (from PGSIDECAR_METRICS_HOST)"),
        errors(new java.util.TreeMap<>(Map.of("PGSIDECAR_METRICS_HOST", " ", "PGSIDECAR_PGDATA", "  "))));
  }

  /** Regression: an error line showed a value's newline raw, splitting one problem over lines. */
  @Test
  void aValueIsShownOnOneLineAndCutWhenLong() {
    assertEquals(List.of("postgres.port: expected an integer from 1 to 65535, got '5432\\x0A- fake'"
        + " (from PGSIDECAR_POSTGRES_PORT)"), errors(Map.of("PGSIDECAR_POSTGRES_PORT", "5432\n- fake")));
  }

  /** Regression: config show printed .inf or 1e3 unquoted, which YAML reads back as numbers. */
  @Test
  void configShowQuotesTextThatLooksLikeANumber() {
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "main",
        "PGSIDECAR_STORAGE_PATH", "/repo", "PGSIDECAR_POSTGRES_HOST", ".inf", "PGSIDECAR_METRICS_HOST", "1e3"));
    String shown = ConfigPrinter.yaml(c);
    assertTrue(shown.contains("host: \".inf\""), shown);
    assertTrue(shown.contains("host: \"1e3\""), shown);
  }
}
