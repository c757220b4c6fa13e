package io.pgsidecar.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.pgsidecar.core.config.ConfigParameters;
import io.pgsidecar.core.config.Param;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every {@code pgsidecar <command> [<subcommand>]} and every configuration key that the docs, the
 * alert rules, the chart's notes, the launchers and the Javadoc name exists: the command tree is
 * the one {@link Main#commandLine} builds (plus what bin/lib/launch.sh answers itself, {@code
 * prepare-cache}), the keys are {@link ConfigParameters#ALL}. A runbook that tells an operator to
 * run {@code pgsidecar backup verify} when there is no such command, or to set {@code
 * schedule.baseBackup} when the key is {@code schedule.base-backup}, fails here.
 *
 * <p>Where names are looked for: commands in Markdown code (spans and fenced blocks), in the
 * annotations of the alert rules and the chart's NOTES.txt, and in {@code {@code ...}} and
 * back-quoted spans of Java sources and the launchers (prose such as "a pgsidecar backup holds"
 * is not a command). Configuration keys everywhere in the Markdown, alert and chart texts: a
 * dotted name starting with a key's section ({@code storage.}, {@code wal.}, ...). Such a name
 * may also be a value of the Helm chart (charts/pgsidecar/values.yaml, e.g. {@code
 * backup.schedule}), a Java package ({@code wal.push}) or a file ({@code backup.json}).
 */
class DocsNameWhatExistsTest {

  /** Surefire runs in agent/. */
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  /** One space between the words, as a command is written (a listing's columns are no command). */
  private static final Pattern COMMAND = Pattern.compile(
      "(?<![\\w.-])(?:[\\w./-]*/)?pgsidecar ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?");
  private static final Pattern CODE_BLOCK = Pattern.compile("```.*?```", Pattern.DOTALL);
  private static final Pattern CODE_SPAN = Pattern.compile("`[^`]+`");
  private static final Pattern JAVA_CODE = Pattern.compile("\\{@code [^}]*}|`[^`\\n]+`");
  private static final Set<String> FILE_SUFFIXES = Set.of("json", "md", "sh", "yml", "yaml", "java",
      "sql", "txt", "tar", "zst", "pgp", "signal", "conf", "log", "xml", "jar", "py");

  @Test
  void everyCommandTheDocsNameExists() throws IOException {
    assertEquals("", String.join("\n", wrongCommands(commandTexts(), commandTree())),
        "commands named in docs, alert rules, chart notes, launchers or Javadoc that do not exist;"
            + " name what exists (pgsidecar --help) or add the command");
  }

  @Test
  void everyConfigurationKeyTheDocsNameExists() throws IOException {
    Set<String> alsoKnown = new TreeSet<>(chartValuePaths());
    alsoKnown.addAll(javaPackages());
    assertEquals("", String.join("\n", wrongKeys(keyTexts(), alsoKnown)),
        "configuration keys named in docs, alert rules or chart notes that do not exist"
            + " (docs/configuration.md lists every key)");
  }

  /**
   * docs/ARCHITECTURE.md promises that every class it names exists under that name: every
   * back-quoted type name ({@code `Retry`}, {@code `Main.COMMANDS`}) is declared in a Java source.
   */
  @Test
  void everyClassTheArchitectureNamesExists() throws IOException {
    Set<String> types = new TreeSet<>();
    Pattern declaration = Pattern.compile("\\b(?:class|record|interface|enum)\\s+([A-Z]\\w*)");
    try (Stream<Path> top = Files.list(ROOT)) {
      for (Path src : top.map(m -> m.resolve("src")).filter(Files::isDirectory).toList()) {
        try (Stream<Path> java = Files.walk(src)) {
          for (Path p : java.filter(f -> f.toString().endsWith(".java")).toList()) {
            declaration.matcher(Files.readString(p)).results().forEach(r -> types.add(r.group(1)));
          }
        }
      }
    }
    Text doc = read(ROOT.resolve("docs/ARCHITECTURE.md"));
    // a type is CamelCase with a lower-case letter (PATH, TZ are environment variables)
    Matcher m = Pattern.compile("`([A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*)(?:[.#][A-Za-z_]\\w*(?:\\(\\))?)?`")
        .matcher(doc.text());
    List<String> missing = new ArrayList<>();
    while (m.find()) {
      if (!types.contains(m.group(1))) {
        missing.add(doc.where(m.start()) + ": `" + m.group(1) + "`");
      }
    }
    assertTrue(types.contains("Retry") && types.contains("RetryPolicy"), "scanned " + types.size());
    assertEquals("", String.join("\n", missing),
        "docs/ARCHITECTURE.md names classes that do not exist; rename them as the code does");
  }

  /** The scan finds what it is meant to find, and only that: planted wrong names are reported. */
  @Test
  void plantedWrongNamesAreReported() throws IOException {
    Text runbook = new Text("runbook.md", """
        Verify it with `pgsidecar backup check <id>`, a pgsidecar backup holds no tablespace,
        then `pgsidecar backup list` and
        ```
        pgsidecar retention purge --dry-run
        ```
        """);
    Text javadoc = new Text("Main.java", "/** Run {@code pgsidecar keys}; \"pgsidecar tools\" */");
    assertEquals(List.of(
        "runbook.md:1: `pgsidecar backup check`: 'pgsidecar backup' has no subcommand 'check'"
            + " (subcommands: create, delete, keep, list, release, show, verify)",
        "runbook.md:4: `pgsidecar retention purge`: 'pgsidecar retention' has no subcommand 'purge'"
            + " (subcommands: apply)",
        "Main.java:1: `pgsidecar keys`: pgsidecar has no command 'keys'"
            + " (commands: agent, backup, check, config, drill, dump, prepare-cache, restore, retention, status, wal)"),
        wrongCommands(List.of(markdownCode(runbook), javadoc.javaCode()), commandTree()));

    Text config = new Text("configuration.md", """
        Set `schedule.baseBackup` and wal.spool-dir (storage.retry.*-deadline, backup.json,
        the chart's backup.schedule); io.pgsidecar.agent.wal.Nothing is a class;
        wal.spool-directory is not a key.
        """);
    assertEquals(List.of(
        "configuration.md:1: `schedule.baseBackup` is no configuration key (did you mean"
            + " schedule.base-backup?)",
        "configuration.md:3: `wal.spool-directory` is no configuration key (keys of wal.*:"
            + " wal.compression-level, wal.lookahead-concurrency, wal.lookahead-max,"
            + " wal.prefetch-count, wal.spool-dir, wal.spool-max-size)"),
        wrongKeys(List.of(config), Set.of("backup.schedule")));
  }

  static List<String> wrongCommands(List<Text> texts, Map<String, Set<String>> tree) {
    List<String> wrong = new ArrayList<>();
    for (Text t : texts) {
      Matcher m = COMMAND.matcher(t.text());
      while (m.find()) {
        String command = m.group(1);
        String sub = m.group(2);
        Set<String> subs = tree.get(command);
        if (subs == null) {
          wrong.add(t.where(m.start(1)) + ": `pgsidecar " + command
              + (sub == null ? "" : " " + sub) + "`: pgsidecar has no command '" + command
              + "' (commands: " + String.join(", ", tree.keySet()) + ")");
        } else if (sub != null && !subs.isEmpty() && !subs.contains(sub)) {
          wrong.add(t.where(m.start(1)) + ": `pgsidecar " + command + " " + sub + "`: 'pgsidecar "
              + command + "' has no subcommand '" + sub + "' (subcommands: "
              + String.join(", ", subs) + ")");
        }
      }
    }
    return wrong;
  }

  /**
   * Dotted names that start with a configuration section but are no key, no group of keys
   * ({@code storage.retry} in {@code storage.retry.*-deadline}), no file and none of {@code
   * alsoKnown} (chart values, Java packages).
   */
  static List<String> wrongKeys(List<Text> texts, Set<String> alsoKnown) {
    Set<String> keys = ConfigParameters.ALL.stream().map(Param::key).collect(Collectors.toSet());
    Set<String> sections = keys.stream().filter(k -> k.contains("."))
        .map(k -> k.substring(0, k.indexOf('.'))).collect(Collectors.toCollection(TreeSet::new));
    Pattern dotted = Pattern.compile("(?<![\\w./$-])((?:" + String.join("|", sections)
        + ")(?:\\.[A-Za-z][A-Za-z0-9-]*)+)");
    List<String> wrong = new ArrayList<>();
    for (Text t : texts) {
      Matcher m = dotted.matcher(t.text());
      while (m.find()) {
        String name = m.group(1);
        boolean known = keys.contains(name)
            || keys.stream().anyMatch(k -> k.startsWith(name + "."))
            || alsoKnown.contains(name)
            || FILE_SUFFIXES.contains(name.substring(name.lastIndexOf('.') + 1));
        if (!known) {
          wrong.add(t.where(m.start(1)) + ": `" + name + "` is no configuration key"
              + nearest(name, keys));
        }
      }
    }
    return wrong;
  }

  // ---- what exists --------------------------------------------------------------------------

  /** Command -> its subcommands (empty: none), from picocli's tree and the launcher. */
  static Map<String, Set<String>> commandTree() throws IOException {
    Map<String, Set<String>> tree = new TreeMap<>();
    for (Map.Entry<String, CommandLine> e : Main.commandLine(Map.of()).getSubcommands().entrySet()) {
      tree.put(e.getKey(), new TreeSet<>(e.getValue().getSubcommands().keySet()));
    }
    // bin/lib/launch.sh answers these itself, before the JVM: [ "${1:-}" = prepare-cache ]
    Matcher m = Pattern.compile("\"\\$\\{1:-}\" = ([a-z][a-z-]*)")
        .matcher(Files.readString(ROOT.resolve("bin/lib/launch.sh")));
    while (m.find()) {
      tree.put(m.group(1), Set.of());
    }
    assertTrue(tree.containsKey("backup") && tree.containsKey("prepare-cache"), tree.toString());
    return tree;
  }

  /** Every path of charts/pgsidecar/values.yaml, e.g. storage, storage.azure, storage.azure.container. */
  private static Set<String> chartValuePaths() throws IOException {
    JsonNode values = new ObjectMapper(new YAMLFactory())
        .readTree(ROOT.resolve("charts/pgsidecar/values.yaml").toFile());
    Set<String> paths = new TreeSet<>();
    collect(values, "", paths);
    return paths;
  }

  private static void collect(JsonNode node, String prefix, Set<String> paths) {
    node.properties().forEach(e -> {
      String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
      paths.add(path);
      if (e.getValue().isObject()) {
        collect(e.getValue(), path, paths);
      }
    });
  }

  /** Packages below io.pgsidecar.MODULE, e.g. wal.push, storage.fs. */
  private static Set<String> javaPackages() throws IOException {
    Set<String> packages = new TreeSet<>();
    try (Stream<Path> modules = Files.list(ROOT)) {
      for (Path base : modules.map(m -> m.resolve("src/main/java/io/pgsidecar")).filter(Files::isDirectory).toList()) {
        try (Stream<Path> dirs = Files.walk(base)) {
          dirs.filter(Files::isDirectory).map(base::relativize).filter(p -> p.getNameCount() > 1)
              .map(p -> p.subpath(1, p.getNameCount()).toString().replace('/', '.'))
              .forEach(packages::add);
        }
      }
    }
    return packages;
  }

  private static String nearest(String name, Set<String> keys) {
    String section = name.substring(0, name.indexOf('.') + 1);
    String flat = name.replaceAll("[A-Z]", "-$0").toLowerCase();
    return keys.contains(flat) ? " (did you mean " + flat + "?)"
        : " (keys of " + section + "*: " + keys.stream().filter(k -> k.startsWith(section)).sorted()
            .collect(Collectors.joining(", ")) + ")";
  }

  // ---- where names are looked for ----------------------------------------------------------

  /** A text with the file it came from; offsets map back to lines of the file. */
  record Text(String file, String text, String whole, int[] offsets) {
    Text(String file, String text) {
      this(file, text, text, null);
    }

    String where(int offset) {
      int at = offsets == null ? offset : offsets[offset];
      int line = 1;
      for (int i = 0; i < at && i < whole.length(); i++) {
        if (whole.charAt(i) == '\n') {
          line++;
        }
      }
      return file + ":" + line;
    }

    /** Only the parts {@code pattern} matches, joined by newlines, offsets kept. */
    Text only(Pattern pattern) {
      StringBuilder sb = new StringBuilder();
      List<Integer> map = new ArrayList<>();
      Matcher m = pattern.matcher(text);
      while (m.find()) {
        for (int i = m.start(); i < m.end(); i++) {
          sb.append(text.charAt(i));
          map.add(i);
        }
        sb.append('\n');
        map.add(m.end() - 1);
      }
      map.add(text.length());
      return new Text(file, sb.toString(), whole, map.stream().mapToInt(Integer::intValue).toArray());
    }

    Text javaCode() {
      return only(JAVA_CODE);
    }

    /** Lines that are not YAML or shell comments. */
    Text notComments() {
      return only(Pattern.compile("(?m)^(?![ \\t]*#).*$"));
    }
  }

  /** Fenced blocks and code spans of a Markdown text. */
  static Text markdownCode(Text t) {
    return t.only(Pattern.compile(CODE_BLOCK.pattern() + "|" + CODE_SPAN.pattern(), Pattern.DOTALL));
  }

  private static Text read(Path file) throws IOException {
    return new Text(ROOT.relativize(file).toString(), Files.readString(file));
  }

  private static List<Path> markdown() throws IOException {
    List<Path> files = new ArrayList<>(List.of(ROOT.resolve("README.md"),
        ROOT.resolve("charts/pgsidecar/README.md")));
    try (Stream<Path> docs = Files.list(ROOT.resolve("docs"));
        Stream<Path> top = Files.list(ROOT)) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
      top.map(d -> d.resolve("README.md")).filter(Files::isRegularFile).sorted().forEach(files::add);
    }
    return files;
  }

  /** The alert rules (the source, the PrometheusRule, the chart's copy), the dashboard, NOTES.txt. */
  private static List<Path> operatorTexts() throws IOException {
    List<Path> files = new ArrayList<>();
    try (Stream<Path> dashboards = Files.list(ROOT.resolve("dashboards"));
        Stream<Path> chartFiles = Files.list(ROOT.resolve("charts/pgsidecar/files"))) {
      dashboards.filter(Files::isRegularFile).sorted().forEach(files::add);
      chartFiles.filter(Files::isRegularFile).sorted().forEach(files::add);
    }
    files.add(ROOT.resolve("charts/pgsidecar/templates/NOTES.txt"));
    return files;
  }

  private static List<Text> commandTexts() throws IOException {
    List<Text> texts = new ArrayList<>();
    for (Path p : markdown()) {
      texts.add(markdownCode(read(p)));
    }
    for (Path p : operatorTexts()) {
      texts.add(read(p).notComments());
    }
    List<Path> code = new ArrayList<>();
    try (Stream<Path> top = Files.list(ROOT); Stream<Path> bin = Files.list(ROOT.resolve("bin"))) {
      for (Path src : top.map(m -> m.resolve("src/main/java")).filter(Files::isDirectory).toList()) {
        try (Stream<Path> java = Files.walk(src)) {
          java.filter(p -> p.toString().endsWith(".java")).forEach(code::add);
        }
      }
      bin.filter(Files::isRegularFile).forEach(code::add);
    }
    code.add(ROOT.resolve("bin/lib/launch.sh"));
    code.add(ROOT.resolve("bin/lib/agent-jvm.sh"));
    for (Path p : code) {
      texts.add(read(p).javaCode());
    }
    return texts;
  }

  private static List<Text> keyTexts() throws IOException {
    List<Text> texts = new ArrayList<>();
    for (Path p : markdown()) {
      texts.add(read(p));
    }
    for (Path p : operatorTexts()) {
      texts.add(read(p));
    }
    return texts;
  }
}
