package io.pgsidecar.core.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.StreamSupport;

/**
 * Builds the {@link PgsidecarConfig} from a YAML file and the environment, as declared in
 * {@link ConfigParameters}. Precedence, highest first: {@code PGSIDECAR_*} variables, the YAML
 * file, libpq variables (PGHOST...) for {@code postgres.*}, the declared default. An empty value
 * counts as unset. Every problem is collected and thrown together as a {@link ConfigException}.
 * The environment is a plain map so that tests never touch the process environment.
 */
public final class ConfigLoader {

  /** A value as written, and where it was written (file path or variable name) for errors. */
  record Raw(String text, String origin) {}

  private final List<String> errors = new ArrayList<>();
  private final Map<String, Raw> raw = new HashMap<>();

  private ConfigLoader() {}

  /** Loads the configuration; {@code env} is usually {@code System.getenv()}. */
  public static PgsidecarConfig load(Optional<Path> yamlFile, Map<String, String> env) {
    return load(yamlFile, env, PostgresBinDir.INSTALL_ROOT);
  }

  /** As {@link #load(Optional, Map)}, with PostgreSQL installations looked for under {@code installRoot}. */
  static PgsidecarConfig load(Optional<Path> yamlFile, Map<String, String> env, Path installRoot) {
    ConfigLoader loader = new ConfigLoader();
    loader.readLibpq(env);
    yamlFile.ifPresent(loader::readYaml);
    loader.readEnv(env);
    ConfigBuilder.Values values = loader.parse();
    ConfigBuilder builder = new ConfigBuilder(values, env, installRoot);
    loader.errors.addAll(builder.check());
    if (!loader.errors.isEmpty()) {
      throw new ConfigException(loader.errors);
    }
    return builder.build();
  }

  private void readLibpq(Map<String, String> env) {
    for (Param<?> p : ConfigParameters.ALL) {
      p.libpqFallback().ifPresent(var -> put(p.key(), env.get(var), var));
    }
  }

  private void readYaml(Path file) {
    String origin = file.toString();
    JsonNode root;
    try {
      root = new YAMLMapper().readTree(Files.readString(file));
    } catch (NoSuchFileException e) {
      errors.add("cannot read config file " + origin + ": it does not exist");
      return;
    } catch (JacksonException e) {
      errors.add("config file " + origin + " is not valid YAML: " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
      return;
    } catch (IOException e) {
      errors.add("cannot read config file " + origin + ": " + e);
      return;
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      return; // an empty file: all defaults
    }
    if (!root.isObject()) {
      errors.add("config file " + origin + " must hold a map of keys at its top level");
      return;
    }
    Map<String, String> flat = new LinkedHashMap<>();
    flatten("", root, flat);
    flat.forEach((key, text) -> {
      Optional<Param<?>> p = ConfigParameters.byKey(key);
      Optional<String> firstOfSection = keys().stream().filter(k -> k.startsWith(key + ".")).findFirst();
      if (p.isEmpty() && firstOfSection.isPresent()) {
        errors.add(quote(key) + " in " + origin + " is a section, not a value: write its keys "
            + "under it, e.g. '" + firstOfSection.get() + "'");
      } else if (p.isEmpty()) {
        errors.add("unknown key " + quote(key) + " in " + origin + ": " + hint(key, keys(), "'"));
      } else if (p.get().secret()) {
        errors.add(key + " in " + origin + ": a secret is not read from the YAML file (it is "
            + "usually a ConfigMap); set " + p.get().envVar() + " from a Kubernetes Secret instead");
      } else {
        put(key, text, origin);
      }
    });
  }

  /** Nested maps become dotted keys; a list becomes comma-separated text (list types split it). */
  private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
    if (node.isObject()) {
      node.properties().forEach(e -> flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(),
          e.getValue(), out));
    } else if (node.isArray()) {
      out.put(prefix, String.join(",", StreamSupport.stream(node.spliterator(), false)
          .map(n -> n.isValueNode() ? n.asText() : n.toString()).toList()));
    } else if (!node.isNull()) {
      out.put(prefix, node.asText());
    }
  }

  private void readEnv(Map<String, String> env) {
    Map<String, Param<?>> byVar = new HashMap<>();
    ConfigParameters.ALL.forEach(p -> byVar.put(p.envVar(), p));
    new TreeMap<>(env).forEach((var, text) -> {
      if (!var.startsWith(Param.ENV_PREFIX) || ConfigParameters.OTHER_VARIABLES.contains(var)) {
        return;
      }
      Param<?> p = byVar.get(var);
      if (p == null) {
        errors.add("unknown environment variable " + var + ": " + hint(var, byVar.keySet(), ""));
      } else {
        put(p.key(), text, var);
      }
    });
  }

  private void put(String key, String text, String origin) {
    if (text != null && !text.isEmpty()) {
      raw.put(key, new Raw(text, origin));
    }
  }

  private ConfigBuilder.Values parse() {
    Map<String, Object> typed = new HashMap<>();
    List<String> invalid = new ArrayList<>();
    for (Param<?> p : ConfigParameters.ALL) {
      Raw r = raw.get(p.key());
      if (r == null) {
        p.defaultText().ifPresent(d -> typed.put(p.key(), p.type().parse(d)));
        continue;
      }
      try {
        typed.put(p.key(), p.type().parse(r.text().trim()));
      } catch (IllegalArgumentException e) {
        invalid.add(p.key());
        String shown = p.secret() ? "<redacted>" : quote(r.text());
        errors.add(p.key() + ": expected " + p.type().expected() + ", got " + shown + " (from "
            + r.origin() + ")");
      }
    }
    return new ConfigBuilder.Values(typed, invalid);
  }

  /**
   * {@code text} in quotes for an error line: control characters escaped (one problem, one line)
   * and a long value cut, with its length.
   */
  static String quote(String text) {
    StringBuilder sb = new StringBuilder("'");
    text.chars().limit(200).forEach(c -> sb.append(c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029
        ? String.format(java.util.Locale.ROOT, "\\x%02X", c) : String.valueOf((char) c)));
    return sb.append(text.length() > 200 ? "...' (" + text.length() + " characters)" : "'").toString();
  }

  private static List<String> keys() {
    return ConfigParameters.ALL.stream().map(Param::key).toList();
  }

  private static String hint(String unknown, Collection<String> known, String quote) {
    return Suggestions.nearest(unknown, known)
        .map(s -> "did you mean " + quote + s + quote + "?")
        .orElse("no such key (see docs/configuration.md)");
  }
}
