package io.pgsidecar.agent.check;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgsidecar.agent.cli.support.AgentClient;
import io.pgsidecar.agent.cli.support.CommandContext;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.agent.cli.support.OutputOption;
import io.pgsidecar.core.config.ConfigException;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.job.JobException.Kind;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.factory.StorageFactory;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Mixin;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar check}: one line per check of {@link CheckService} ({@code OK}, {@code FAIL}
 * with what to do, {@code SKIP} with what it needed), then a summary; the exit code is the first
 * failure's ({@link ExitCodes}: 2 configuration, 3 storage, the agent or PostgreSQL unreachable,
 * 7 the archive belongs to another server, 1 the switched segment did not arrive). Runs in this
 * process with the configuration, as the agent's container has it; asks the agent only whether
 * it answers.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
    description = "Check archiving end to end: configuration, storage (write and delete a probe"
        + " object), the agent, PostgreSQL, cluster.json, archive_mode and archive_command, and"
        + " that a pg_switch_wal() segment arrives in storage.")
public final class CheckCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m)?");

  @Spec CommandSpec spec;

  @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "60s",
      description = "How long the switched segment may take to arrive in storage (default 60s;"
          + " e.g. 90s, 2m).")
  String timeout;

  @Mixin OutputOption output;

  @Override
  public Integer call() throws Exception {
    Duration deadline = duration(timeout);
    CommandContext context = CommandContext.of(spec);
    List<Check> checks = new ArrayList<>();
    PgsidecarConfig config;
    try {
      config = context.config();
    } catch (ConfigException e) {
      checks.add(new Check("config", Check.Result.FAIL,
          Check.oneLine(e.getMessage()) + "; fix the file or the PGSIDECAR_* variables"
              + " (pgsidecar config check lists every problem)", Optional.of(Kind.INVALID_INPUT)));
      return report(null, checks);
    }
    checks.add(Check.ok("config", "valid: cluster '" + config.cluster() + "', "
        + context.configFile().map(f -> "file " + f).orElse("environment and defaults (no file)")));
    try (Storage storage = open(config)) {
      CheckService service = new CheckService(config, storage,
          PostgresFacts.forConfig(config.postgres()), () -> agentProblem(), Clock.systemUTC());
      checks.addAll(service.run(deadline));
    }
    return report(config.cluster(), checks);
  }

  /**
   * The configured storage; one that cannot even be opened (Azure credentials that do not load,
   * say) is a storage whose every call fails with that reason, so the storage check reports it
   * in its line and the checks that need storage are skipped.
   */
  private static Storage open(PgsidecarConfig config) {
    try {
      return StorageFactory.open(config.storage());
    } catch (IOException | RuntimeException e) {
      String why = String.valueOf(e.getMessage());
      return (Storage) java.lang.reflect.Proxy.newProxyInstance(Storage.class.getClassLoader(),
          new Class<?>[] {Storage.class}, (proxy, method, args) -> switch (method.getName()) {
            case "describe" -> config.storage().type().name().toLowerCase(Locale.ROOT) + " storage";
            case "close" -> null;
            case "toString" -> "unopened storage";
            default -> throw new IOException("cannot open it: " + why);
          });
    }
  }

  private Optional<String> agentProblem() {
    try {
      AgentClient.Response r = AgentClient.forCommand(spec).send("GET", "/healthz", null);
      return r.status() == 200 ? Optional.empty()
          : Optional.of("/healthz answered HTTP " + r.status());
    } catch (IOException e) {
      return Optional.of(String.valueOf(e.getMessage()));
    }
  }

  private int report(String cluster, List<Check> checks) throws IOException {
    int code = Check.firstFailure(checks).map(ExitCodes::of).orElse(ExitCodes.OK);
    long failed = checks.stream().filter(c -> c.result() == Check.Result.FAIL).count();
    PrintWriter out = spec.commandLine().getOut();
    if (output.json()) {
      ObjectNode doc = JSON.createObjectNode();
      doc.put("cluster", cluster);
      doc.put("ok", failed == 0);
      doc.put("exitCode", code);
      ArrayNode list = doc.putArray("checks");
      for (Check c : checks) {
        list.addObject().put("name", c.name())
            .put("result", c.result().name().toLowerCase(Locale.ROOT))
            .put("message", c.message());
      }
      out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(doc));
    } else {
      for (Check c : checks) {
        out.printf(Locale.ROOT, "%-4s  %-15s  %s%n", c.result(), c.name(), c.message());
      }
      out.println(failed == 0 ? "check passed: " + checks.size() + " checks, "
          + checks.stream().filter(c -> c.result() == Check.Result.SKIP).count() + " skipped"
          : "check failed: " + failed + " of " + checks.size() + " checks (exit " + code + ")");
    }
    out.flush();
    return code;
  }

  /** {@code 60s}, {@code 2m}, {@code 500ms}, or seconds without a unit. */
  private Duration duration(String text) {
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches()) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--timeout '" + text
          + "': expected a duration such as 60s, 2m or 500ms");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2) == null ? "s" : m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofSeconds(n);
    };
  }
}
