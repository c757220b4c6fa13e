package io.pgsidecar.charts;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Renders and lints the chart without a helm binary: helm-java carries Helm as a native library
 * and works offline. {@code scripts/chart.sh} runs this file with the JDK's source launcher, so
 * it stays one self-contained file; the tests call {@link #template} and {@link #lint}.
 *
 * <pre>
 *   ChartTool template [--set key=value]... [--values FILE]... [--name RELEASE] [--namespace NS] [CHART_DIR]
 *   ChartTool lint [CHART_DIR]
 * </pre>
 * Exit codes: 0 done, 1 the chart failed to render or lint, 2 bad arguments.
 */
public final class ChartTool {

  /** The release name used when none is given (what `helm template` calls it). */
  public static final String DEFAULT_RELEASE = "db1";

  private ChartTool() {}

  /** Renders {@code chart} with {@code values} set as `--set key=value` would; throws on failure. */
  public static String template(Path chart, String release, String namespace, Map<String, String> values,
      List<Path> valueFiles) {
    TemplateCommand t = new Helm(chart).template().withName(release).withNamespace(namespace);
    values.forEach(t::set);
    valueFiles.forEach(t::withValuesFile);
    return t.call();
  }

  /** `helm lint --strict` of the chart with its default values; the messages, or empty when clean. */
  public static List<String> lint(Path chart) {
    LintResult r = new Helm(chart).lint().strict().call();
    List<String> problems = new ArrayList<>();
    if (r.isFailed()) {
      problems.addAll(r.getMessages());
      if (problems.isEmpty()) {
        problems.add("helm lint failed without a message");
      }
    }
    return problems;
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String[] args) {
    if (args.length == 0) {
      return usage("a command is required");
    }
    Path chart = Path.of("charts/pgsidecar");
    String release = DEFAULT_RELEASE;
    String namespace = "default";
    Map<String, String> values = new java.util.LinkedHashMap<>();
    List<Path> files = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      boolean hasNext = i + 1 < args.length;
      switch (a) {
        case "--set" -> {
          if (!hasNext || !args[i + 1].contains("=")) {
            return usage("--set needs key=value");
          }
          String kv = args[++i];
          values.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        case "--values", "-f" -> {
          if (!hasNext) {
            return usage(a + " needs a file");
          }
          files.add(Path.of(args[++i]));
        }
        case "--name" -> {
          if (!hasNext) {
            return usage("--name needs a release name");
          }
          release = args[++i];
        }
        case "--namespace", "-n" -> {
          if (!hasNext) {
            return usage(a + " needs a namespace");
          }
          namespace = args[++i];
        }
        default -> {
          if (a.startsWith("-")) {
            return usage("unknown option " + a);
          }
          chart = Path.of(a);
        }
      }
    }
    try {
      switch (args[0]) {
        case "template" -> {
          System.out.print(template(chart, release, namespace, values, files));
          return 0;
        }
        case "lint" -> {
          List<String> problems = lint(chart);
          problems.forEach(System.err::println);
          if (problems.isEmpty()) {
            System.out.println("chart " + chart + " lints clean");
          }
          return problems.isEmpty() ? 0 : 1;
        }
        default -> {
          return usage("unknown command " + args[0]);
        }
      }
    } catch (RuntimeException e) {
      System.err.println("chart " + chart + ": " + e.getMessage());
      return 1;
    }
  }

  private static int usage(String problem) {
    System.err.println("chart: " + problem + "\nusage: chart.sh template [--set key=value]... "
        + "[--values FILE]... [--name RELEASE] [--namespace NS] [CHART_DIR]\n       chart.sh lint [CHART_DIR]");
    return 2;
  }
}
