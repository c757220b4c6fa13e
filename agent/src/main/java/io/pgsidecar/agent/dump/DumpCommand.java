package io.pgsidecar.agent.dump;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgsidecar.agent.cli.support.AgentCalls;
import io.pgsidecar.agent.cli.support.AgentClient;
import io.pgsidecar.agent.cli.support.CliText;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.agent.cli.support.CommandContext;
import io.pgsidecar.agent.cli.support.OutputOption;
import io.pgsidecar.agent.cli.support.ProgressLine;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar dump create|list|show|delete|restore}. Create, list, show and delete ask the
 * running agent (through its admin socket), so they need no storage credentials. Restore runs in
 * this process: it reads storage with the configuration and feeds pg_restore on this machine,
 * which is what moving a database to a new server needs. Exit codes as every command's
 * ({@link ExitCodes}): 0 done, 1 the work failed, 2 usage error, 3 the agent (or storage) cannot
 * be reached, 4 no such dump, 6 another dump or a base backup runs.
 */
@Command(name = "dump", mixinStandardHelpOptions = true,
    description = "Logical dumps (pg_dump): create, list, show, delete, restore.",
    subcommands = {DumpRestoreCommand.class,
        io.pgsidecar.agent.retention.RetentionCommand.DumpKeep.class,
        io.pgsidecar.agent.retention.RetentionCommand.DumpRelease.class})
public final class DumpCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Opens a restorer on the repository the configuration names. */
  @FunctionalInterface
  public interface Restorers {
    DumpRestorer open(Supplier<PgsidecarConfig> config) throws IOException;
  }

  private final AgentCalls agent;
  private final Restorers restorers;

  @Spec
  CommandSpec spec;

  /** The production wiring: the agent of the configuration's socket, restorers from the config. */
  public DumpCommand() {
    this.agent = new AgentCalls("dump", () -> AgentClient.forCommand(spec), () -> spec,
        Duration.ofSeconds(1));
    this.restorers = config -> DumpRestorer.forConfig(config.get());
  }

  /** With the agent client from the caller, restorers from the config. */
  public DumpCommand(Supplier<AgentClient> agent) {
    this(agent, config -> DumpRestorer.forConfig(config.get()), Duration.ofSeconds(1));
  }

  DumpCommand(Supplier<AgentClient> agent, Restorers restorers, Duration pollInterval) {
    this.agent = new AgentCalls("dump", agent, () -> spec, pollInterval);
    this.restorers = restorers;
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(agent.out());
    return ExitCodes.USAGE;
  }

  @Command(name = "create", description = "Dump globals and databases (default: every"
      + " connectable database, minus dump.exclude); with --wait, wait until it is complete and"
      + " show progress.")
  int create(
      @Option(names = "--db", paramLabel = "NAME", description = "Database to dump (repeatable).")
      List<String> databases,
      @Option(names = "--label", description = "Free text stored with the dump.") String label,
      @Option(names = "--wait", description = "Wait until the dump is complete.") boolean wait,
      @Mixin OutputOption output,
      @Option(names = "--progress", defaultValue = "auto", description = "With --wait: auto"
          + " (redrawn on a terminal, a line every 10 s otherwise), always (redrawn) or never;"
          + " on stderr with --output json.") ProgressLine.Mode progressMode)
      throws IOException, InterruptedException {
    ObjectNode body = JSON.createObjectNode();
    if (label != null) {
      body.put("label", label);
    }
    if (databases != null) {
      databases.forEach(body.putArray("databases")::add);
    }
    // json output keeps stdout one JSON document: progress goes to stderr then
    ProgressLine progress = ProgressLine.of(progressMode,
        output.json() ? agent.err() : agent.out());
    return agent.guarded(() -> agent.start("/v1/dumps", body.toString(), wait, output.value(),
        "dump",
        new AgentCalls.Job() {
          @Override
          public void progress(JsonNode running) {
            JsonNode p = running.path("progress");
            if (p.isMissingNode()) {
              return;
            }
            String object = p.path("object").asText();
            progress.update("dump " + running.path("id").asText()
                + (object.isEmpty() ? "" : ": " + object), p.path("dumpedBytes").asLong(),
                p.path("startedAt").asText());
          }

          @Override
          public void ended() {
            progress.finish();
          }

          @Override
          public int complete(AgentClient.Response end) {
            JsonNode status = AgentCalls.json(end.body());
            if (!"COMPLETE".equals(status.path("state").asText())) {
              return failed(status, output, end.body());
            }
            agent.print(output.value(), end.body(), describe(status));
            return ExitCodes.OK;
          }
        }));
  }

  /** A dump that ended without completing: pg_dump's own words on stderr; exit 1. */
  private int failed(JsonNode status, OutputOption output, String json) {
    agent.err().println("pgsidecar dump: " + status.path("failure").path("message")
        .asText("dump " + status.path("id").asText() + " did not complete: "
            + status.path("state").asText()));
    String stderr = status.path("failure").path("stderr").asText("");
    if (!stderr.isEmpty()) {
      agent.err().println(stderr);
    }
    agent.err().flush();
    if (output.json()) {
      agent.print(output.value(), json, json);
    }
    return ExitCodes.FAILED;
  }

  @Command(name = "list", description = "List the dumps, oldest first, with their state.")
  int list(@Mixin OutputOption output) throws IOException, InterruptedException {
    return agent.guarded(() -> agent.table("/v1/dumps", output.value(),
        "%-20s %-10s %-25s %10s %10s  %-30s %s%n", new Object[] {"ID", "STATE", "START TIME", "SIZE",
            "STORED", "DATABASES", "LABEL"}, d -> {
          JsonNode m = d.path("manifest");
          return new Object[] {d.path("id").asText(), d.path("state").asText(),
              m.path("startTime").asText(d.path("failure").path("startTime").asText("")),
              m.isMissingNode() ? "" : size(total(m, "rawSize")),
              m.isMissingNode() ? "" : size(total(m, "storedSize")),
              String.join(",", names(m)), d.path("label").asText()};
        }));
  }

  @Command(name = "show", description = "Show one dump: its databases, sizes and checksums,"
      + " or why it failed.")
  int show(@Parameters(paramLabel = "ID") String id,
      @Mixin OutputOption output) throws IOException, InterruptedException {
    return agent.guarded(() -> agent.show("/v1/dumps/" + id, output.value(), this::printDump));
  }

  private void printDump(JsonNode d) {
    PrintWriter out = agent.out();
    out.printf("%-15s %s%n", "id:", d.path("id").asText());
    out.printf("%-15s %s%n", "state:", d.path("state").asText());
    out.printf("%-15s %s%n", "label:", d.path("label").asText());
    JsonNode m = d.path("manifest");
    if (!m.isMissingNode()) {
      out.printf("%-15s %s%n", "server:", m.path("serverVersion").asText());
      out.printf("%-15s %s .. %s%n", "time:", m.path("startTime").asText(),
          m.path("stopTime").asText());
      out.printf("  %-24s %10s %10s  %-10s %s%n", "OBJECT", "SIZE", "STORED", "CODEC", "SHA-256");
      for (JsonNode e : entries(m)) {
        out.printf("  %-24s %10s %10s  %-10s %s%n", e.path("name").asText(),
            size(e.path("rawSize").asLong()), size(e.path("storedSize").asLong()),
            e.path("codec").asText(), e.path("plainSha256").asText());
      }
    }
    JsonNode f = d.path("failure");
    if (!f.isMissingNode()) {
      out.printf("%-15s %s%n", "failed at:", f.path("failTime").asText());
      out.printf("%-15s %s%n", "error:", f.path("message").asText());
    }
  }

  @Command(name = "delete", description = "Delete a dump and every object it holds.")
  int delete(@Parameters(paramLabel = "ID") String id,
      @Mixin OutputOption output) throws IOException, InterruptedException {
    return agent.guarded(() -> agent.delete("/v1/dumps/" + id, output.value(),
        "dump " + id + " deleted"));
  }

  /** The restorer, once {@code id} is known to be a dump id ({@link DumpRestoreCommand}). */
  DumpRestorer open(String id) throws IOException {
    DumpIds.require(id);
    return restorers.open(() -> CommandContext.of(spec).config());
  }

  private static List<JsonNode> entries(JsonNode manifest) {
    List<JsonNode> all = new java.util.ArrayList<>();
    if (manifest.has("globals")) {
      all.add(manifest.path("globals"));
    }
    manifest.path("databases").forEach(all::add);
    return all;
  }

  private static long total(JsonNode manifest, String field) {
    return entries(manifest).stream().mapToLong(e -> e.path(field).asLong()).sum();
  }

  private static List<String> names(JsonNode manifest) {
    List<String> names = new java.util.ArrayList<>();
    manifest.path("databases").forEach(e -> names.add(e.path("name").asText()));
    return names;
  }

  private static String describe(JsonNode status) {
    JsonNode m = status.path("manifest");
    return "dump " + status.path("id").asText() + " complete: " + String.join(", ", names(m))
        + ", " + size(total(m, "rawSize")) + " (" + size(total(m, "storedSize")) + " stored)";
  }

  static String size(long bytes) {
    return CliText.size(bytes);
  }

}
