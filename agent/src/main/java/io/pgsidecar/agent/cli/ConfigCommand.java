package io.pgsidecar.agent.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.pgsidecar.core.config.ConfigPrinter;
import java.io.IOException;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar config show|check}: the configuration as the agent would use it, to check a
 * pod's settings before (or without) starting the agent.
 */
@Command(name = "config", description = "Show or check the effective configuration.",
    mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
    subcommands = {ConfigCommand.Show.class, ConfigCommand.Check.class})
final class ConfigCommand {

  @Command(name = "show", mixinStandardHelpOptions = true,
      description = "Print the effective configuration as YAML (file + environment + defaults), "
          + "secrets redacted; --output json prints the same tree as JSON.")
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--output", paramLabel = "yaml|json", defaultValue = "yaml",
        description = "yaml (default, loads back as a configuration file) or json.")
    String output;

    @Override
    public Integer call() throws IOException {
      String yaml = ConfigPrinter.yaml(Main.of(spec).config());
      switch (output) {
        case "yaml", "text" -> spec.commandLine().getOut().print(yaml);
        case "json" -> spec.commandLine().getOut().println(new ObjectMapper()
            .writerWithDefaultPrettyPrinter().writeValueAsString(
                new ObjectMapper(new YAMLFactory()).readTree(yaml)));
        default -> throw new ParameterException(spec.commandLine(), "--output '" + output
            + "': expected yaml or json");
      }
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Load the configuration and report every problem; exit 0 when it is valid.")
  static final class Check implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      Main main = Main.of(spec);
      PgsidecarConfig c = main.config();
      String storage = switch (c.storage().type()) {
        case FS -> "fs " + c.storage().path().orElseThrow();
        case AZURE -> "azure container " + c.storage().azure().container();
        case S3 -> "s3 bucket " + c.storage().s3().bucket();
      };
      spec.commandLine().getOut().println("configuration is valid: cluster '" + c.cluster()
          + "', storage " + storage + main.configFile().map(f -> ", file " + f).orElse(""));
      return 0;
    }
  }
}
