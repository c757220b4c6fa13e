package io.pgsidecar.agent.cli.support;

import io.pgsidecar.agent.cli.support.AgentCalls.Output;
import picocli.CommandLine.Option;

/**
 * {@code --output text|json}, one option for every command that reads or reports (a picocli
 * mixin): the same spelling, default, help text and refusal of another value (usage error, exit
 * 2) everywhere. {@code pgsidecar config show} has its own ({@code yaml|json}).
 */
public final class OutputOption {

  @Option(names = "--output", paramLabel = "text|json", defaultValue = "text",
      description = "text (default) or json (one document on stdout).")
  Output value = Output.text;

  public Output value() {
    return value;
  }

  public boolean json() {
    return value == Output.json;
  }
}
