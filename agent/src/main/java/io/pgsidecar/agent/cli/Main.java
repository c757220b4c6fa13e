package io.pgsidecar.agent.cli;

import io.pgsidecar.core.config.ConfigException;
import io.pgsidecar.core.config.ConfigLoader;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

/**
 * The {@code pgsidecar} command: the root of every subcommand ({@link #COMMANDS}: agent, backup,
 * dump, config, wal, restore, retention). It owns the one thing they share, the configuration: a subcommand
 * asks for it with {@code Main.of(spec).config()} (a {@code @Spec CommandSpec spec} field), which
 * loads {@code --config FILE} (or {@code $PGSIDECAR_CONFIG}) plus the environment once.
 *
 * <p>Exit codes: 0 success, 2 usage or configuration error (message on stderr), 1 any other
 * failure unless the subcommand returns its own code.
 */
@Command(name = "pgsidecar", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    synopsisSubcommandLabel = "COMMAND",
    description = "Backup agent for PostgreSQL: WAL archiving, base backups, dumps, restore.",
    footer = {"", "Configuration keys and their environment variables: docs/configuration.md"})
public final class Main {

  /**
   * Every subcommand, in the order {@code --help} lists them. Adding a command is one line here:
   * its class, a picocli {@code @Command} (nested subcommands declared on it), from its own
   * package, e.g. {@code io.pgsidecar.agent.backup.BackupCommand.class}.
   */
  static final List<Class<?>> COMMANDS = List.of(
      AgentCommand.class,
      io.pgsidecar.agent.backup.BackupCommand.class,
      io.pgsidecar.agent.dump.DumpCommand.class,
      ConfigCommand.class,
      io.pgsidecar.agent.wal.WalCommand.class,
      io.pgsidecar.agent.restore.RestoreCommand.class,
      io.pgsidecar.agent.retention.RetentionCommand.class);

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
    CommandLine cl = commandLine(env);
    cl.setOut(out);
    cl.setErr(err);
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /** The configured picocli command tree; {@code env} stands for the process environment. */
  public static CommandLine commandLine(Map<String, String> env) {
    CommandLine cl = new CommandLine(new Main(env));
    COMMANDS.forEach(cl::addSubcommand);
    addHelpOptions(cl);
    cl.setExecutionExceptionHandler(Main::handle);
    return cl;
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

  /** The environment this run sees (the process environment, or a test's map). */
  public Map<String, String> env() {
    return env;
  }

  /** The YAML file to read: {@code --config}, else {@code $PGSIDECAR_CONFIG}, else none. */
  public Optional<Path> configFile() {
    return Optional.ofNullable(configFile)
        .or(() -> Optional.ofNullable(env.get("PGSIDECAR_CONFIG")).filter(s -> !s.isEmpty()).map(Path::of));
  }

  /** Loads the configuration on first use; a {@link ConfigException} becomes exit code 2. */
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
      return CommandLine.ExitCode.USAGE;
    }
    err.println("pgsidecar " + cl.getCommandName() + ": " + e);
    e.printStackTrace(err);
    return CommandLine.ExitCode.SOFTWARE;
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
