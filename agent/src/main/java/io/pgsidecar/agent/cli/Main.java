package io.pgsidecar.agent.cli;

import io.pgsidecar.agent.Features;
import io.pgsidecar.agent.cli.support.CommandContext;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.core.config.ConfigException;
import io.pgsidecar.core.config.ConfigLoader;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.storage.StorageException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

/**
 * The {@code pgsidecar} command: the root of every subcommand ({@link #COMMANDS}: agent, config,
 * then the commands of every feature of {@link Features}: backup, dump, wal, restore). It owns the
 * one thing they share, the configuration: a subcommand asks for it with
 * {@code CommandContext.of(spec).config()} (a {@code @Spec CommandSpec spec} field), which loads
 * {@code --config FILE} (or {@code $PGSIDECAR_CONFIG}) plus the environment once.
 *
 * <p>Exit codes: {@link ExitCodes}, the same for every command; a failure a command does not
 * answer itself gets the code of its cause (a configuration error 2, a job's failure its kind's).
 */
@Command(name = "pgsidecar", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    synopsisSubcommandLabel = "COMMAND",
    description = "Backup agent for PostgreSQL: WAL archiving, base backups, dumps, restore.",
    footer = {"", "Configuration keys and their environment variables: docs/configuration.md"})
public final class Main implements CommandContext {

  /**
   * Every subcommand, in the order {@code --help} lists them: the agent's own two, then each
   * feature's ({@link Features#commands()}). A feature adds its command in its {@code <X>Feature}.
   */
  static final List<Class<?>> COMMANDS = Stream.concat(
      Stream.of(AgentCommand.class, ConfigCommand.class), Features.commands().stream()).toList();

  @Option(names = "--config", paramLabel = "FILE", scope = ScopeType.INHERIT,
      description = "YAML configuration file (default: $PGSIDECAR_CONFIG; without either, "
          + "environment variables and defaults only).")
  Path configFile;

  private final Map<String, String> env;
  private PgsidecarConfig config;

  public Main(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  public static void main(String[] args) {
    System.exit(execute(args, System.getenv(), new PrintWriter(System.out, true),
        new PrintWriter(System.err, true)));
  }

  /** Runs one command line against the given environment and writers; returns the exit code. */
  public static int execute(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err) {
    CommandLine cl = commandLine(env, calledCommands(args));
    cl.setOut(out);
    cl.setErr(err);
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /** The configured picocli command tree; {@code env} stands for the process environment. */
  public static CommandLine commandLine(Map<String, String> env) {
    return commandLine(env, COMMANDS);
  }

  /**
   * The tree with only {@code commands} under the root (and the subcommands features add under
   * them). Picocli builds a command's model by reflection over its annotations, which for every
   * command is a good part of a short command's start-up (a restore, a status): a command line
   * that names one command gets that one only ({@link #calledCommands}).
   */
  static CommandLine commandLine(Map<String, String> env, List<Class<?>> commands) {
    CommandLine cl = new CommandLine(new Main(env));
    commands.forEach(cl::addSubcommand);
    Features.subcommands().forEach((parent, classes) -> {
      CommandLine under = cl.getSubcommands().get(parent);
      if (under != null) {
        classes.forEach(under::addSubcommand);
      }
    });
    addHelpOptions(cl);
    cl.setExecutionExceptionHandler(Main::handle);
    return cl;
  }

  /**
   * The commands a command line needs: the one it names (its first word after the root's
   * {@code --config FILE}), else all of them, so that {@code --help}, {@code --version}, no command
   * or an unknown one (picocli's "did you mean") see the whole tree.
   */
  static List<Class<?>> calledCommands(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("--config")) {
        i++;
      } else if (!arg.startsWith("--config=")) {
        if (arg.startsWith("-")) {
          return COMMANDS;
        }
        for (Class<?> c : COMMANDS) {
          Command command = c.getAnnotation(Command.class);
          if (command != null && (command.name().equals(arg) || List.of(command.aliases()).contains(arg))) {
            return List.of(c);
          }
        }
        return COMMANDS;
      }
    }
    return COMMANDS;
  }

  /** Every command and subcommand answers {@code -h/--help}, whoever declared it. */
  private static void addHelpOptions(CommandLine cl) {
    for (CommandLine sub : cl.getSubcommands().values()) {
      if (sub.getCommandSpec().optionsMap().get("--help") == null) {
        sub.getCommandSpec().addOption(CommandSpec.forAnnotatedObject(new HelpOption())
            .findOption("--help"));
      }
      addHelpOptions(sub);
    }
  }

  /** The {@code --help} option added to commands that do not declare one. */
  private static final class HelpOption {
    @picocli.CommandLine.Option(names = {"-h", "--help"}, usageHelp = true,
        description = "Show this help message and exit.")
    boolean help;
  }

  /** The root command of the tree {@code spec} belongs to: how subcommands reach the config. */
  public static Main of(CommandSpec spec) {
    return (Main) spec.root().userObject();
  }

  @Override
  public Map<String, String> env() {
    return env;
  }

  /** The YAML file to read: {@code --config}, else {@code $PGSIDECAR_CONFIG}, else none. */
  @Override
  public Optional<Path> configFile() {
    return Optional.ofNullable(configFile)
        .or(() -> Optional.ofNullable(env.get("PGSIDECAR_CONFIG")).filter(s -> !s.isEmpty()).map(Path::of));
  }

  /** Loads the configuration on first use; a {@link ConfigException} becomes exit code 2. */
  @Override
  public PgsidecarConfig config() {
    if (config == null) {
      config = ConfigLoader.load(configFile(), env);
    }
    return config;
  }

  private static int handle(Exception e, CommandLine cl, ParseResult parsed) {
    PrintWriter err = cl.getErr();
    if (e instanceof ConfigException) {
      err.println("pgsidecar: " + e.getMessage());
      return ExitCodes.USAGE;
    }
    if (e instanceof JobException || e instanceof StorageException) {
      // a job's failure, or the storage driver's, says what failed and what to do: no stack trace
      err.println(cl.getCommandSpec().qualifiedName() + ": " + e.getMessage());
      return ExitCodes.of(e);
    }
    err.println("pgsidecar " + cl.getCommandName() + ": " + e);
    e.printStackTrace(err);
    return ExitCodes.of(e);
  }

  /** The version recorded in the jar's manifest at package time. */
  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Optional.ofNullable(Main.class.getPackage().getImplementationVersion())
          .orElse("(development build)");
      return new String[] {"pgsidecar " + v,
          "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
    }
  }
}
