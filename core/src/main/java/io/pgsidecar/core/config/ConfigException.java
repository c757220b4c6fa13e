package io.pgsidecar.core.config;

import java.util.List;

/**
 * The configuration cannot be used: every problem found at start-up, all at once, so that one
 * edit of the YAML file or the pod spec fixes them all. Secret values never appear in it.
 */
public final class ConfigException extends RuntimeException {

  private final List<String> errors;

  public ConfigException(List<String> errors) {
    super(message(errors));
    this.errors = List.copyOf(errors);
  }

  /** One line per problem, in the order: file, environment, values, missing keys. */
  public List<String> errors() {
    return errors;
  }

  private static String message(List<String> errors) {
    StringBuilder sb = new StringBuilder("invalid configuration (")
        .append(errors.size()).append(errors.size() == 1 ? " error" : " errors")
        .append("; every key is listed in docs/configuration.md):");
    errors.forEach(e -> sb.append("\n  - ").append(e));
    return sb.toString();
  }
}
