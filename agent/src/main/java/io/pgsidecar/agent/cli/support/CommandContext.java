package io.pgsidecar.agent.cli.support;

import io.pgsidecar.core.config.PgsidecarConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Model.CommandSpec;

/**
 * What every {@code pgsidecar} subcommand gets from the root command: the configuration (loaded
 * once, from {@code --config FILE} or {@code $PGSIDECAR_CONFIG} plus the environment) and the
 * environment. A subcommand asks with {@code CommandContext.of(spec).config()} (a
 * {@code @Spec CommandSpec spec} field); the features' commands never name the root command, so
 * the root and the commands form no package cycle.
 */
public interface CommandContext {

  /** The loaded configuration; a {@link io.pgsidecar.core.config.ConfigException} is exit code 2. */
  PgsidecarConfig config();

  /** The environment this run sees (the process environment, or a test's map). */
  Map<String, String> env();

  /** The YAML file the configuration is read from ({@code --config}, {@code $PGSIDECAR_CONFIG}). */
  default Optional<Path> configFile() {
    return Optional.empty();
  }

  /** The context of the command tree {@code spec} belongs to. */
  static CommandContext of(CommandSpec spec) {
    return (CommandContext) spec.root().userObject();
  }
}
