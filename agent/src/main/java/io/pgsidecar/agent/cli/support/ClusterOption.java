package io.pgsidecar.agent.cli.support;

import io.pgsidecar.core.config.PgsidecarConfig;
import picocli.CommandLine.Option;

/**
 * {@code --cluster NAME}: read another cluster's archive in the same storage (a picocli mixin for
 * the commands that read storage themselves); without it, the configuration's {@code cluster}.
 */
public final class ClusterOption {

  @Option(names = "--cluster", paramLabel = "NAME", description = "Another cluster's archive.")
  String name;

  /** The cluster this command reads: the option's, else the configuration's. */
  public String of(PgsidecarConfig config) {
    return name != null ? name : config.cluster();
  }
}
