package io.pgsidecar.agent.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgsidecar.agent.cli.support.AgentCalls;
import io.pgsidecar.agent.cli.support.AgentClient;
import io.pgsidecar.agent.cli.support.CliText;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.agent.cli.support.OutputOption;
import io.pgsidecar.agent.cli.support.ProgressLine;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar backup create|list|show|delete}: asks the running agent (through its admin
 * socket) to do it, so the CLI never needs storage credentials. Exit codes as every command's
 * ({@link ExitCodes}): 0 done, 1 the backup failed, 2 usage error, 3 the agent cannot be
 * reached (or storage), 4 no such backup, 6 another backup runs or the delete is refused.
 */
@Command(name = "backup", mixinStandardHelpOptions = true,
    description = "Create, list, show and delete base backups (through the running agent).",
    subcommands = {io.pgsidecar.agent.retention.RetentionCommand.BackupKeep.class,
        io.pgsidecar.agent.retention.RetentionCommand.BackupRelease.class})
public final class BackupCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final AgentCalls agent;

  @Spec
  CommandSpec spec;

  /** The production wiring: the agent of the configuration's socket. */
  public BackupCommand() {
    this.agent = new AgentCalls("backup", () -> AgentClient.forCommand(spec), () -> spec,
        Duration.ofSeconds(1));
  }

  public BackupCommand(Supplier<AgentClient> agent) {
    this(agent, Duration.ofSeconds(1));
  }

  BackupCommand(Supplier<AgentClient> agent, Duration pollInterval) {
    this.agent = new AgentCalls("backup", agent, () -> spec, pollInterval);
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(agent.out());
    return ExitCodes.USAGE;
  }

  @Command(name = "create", description = "Start a base backup; with --wait, wait for it and "
      + "show progress.")
  int create(
      @Option(names = "--label", description = "Free text stored with the backup.") String label,
      @Option(names = "--wait", description = "Wait until the backup is complete.") boolean wait,
      @Option(names = "--keep", description = "Once complete, mark it permanent (pgsidecar backup"
          + " keep); needs --wait. The newest backup is never removed meanwhile.") boolean keep,
      @Mixin OutputOption output,
      @Option(names = "--progress", defaultValue = "auto", description = "With --wait: auto"
          + " (redrawn on a terminal, a line every 10 s otherwise), always (redrawn) or never;"
          + " on stderr with --output json.") ProgressLine.Mode progressMode)
      throws IOException, InterruptedException {
    if (keep && !wait) {
      agent.err().println("pgsidecar backup: --keep needs --wait (a backup is marked permanent"
          + " once it is complete)");
      agent.err().flush();
      return ExitCodes.USAGE;
    }
    ObjectNode body = JSON.createObjectNode();
    if (label != null) {
      body.put("label", label);
    }
    // json output keeps stdout one JSON document: progress goes to stderr then
    ProgressLine progress = ProgressLine.of(progressMode,
        output.json() ? agent.err() : agent.out());
    return agent.guarded(() -> agent.start("/v1/backups", body.toString(), wait, output.value(),
        "base backup", new AgentCalls.Job() {
          @Override
          public void progress(JsonNode p) {
            progress.update("base backup " + p.path("id").asText() + ": "
                + p.path("phase").asText() + ", " + size(p.path("storedBytes").asLong()) + " stored",
                p.path("rawBytes").asLong(), p.path("startedAt").asText());
          }

          @Override
          public void ended() {
            progress.finish();
          }

          @Override
          public int complete(AgentClient.Response end) {
            agent.print(output.value(), end.body(), describe(AgentCalls.json(end.body())));
            if (keep) {
              String id = AgentCalls.json(end.body()).path("id").asText();
              AgentClient.Response k = agent.call("POST", "/v1/backups/" + id + "/keep",
                  JSON.createObjectNode().put("note", label == null ? "" : label).toString());
              if (k.status() != 200) {
                return agent.fail(k);
              }
              if (!output.json()) {
                agent.out().println("base backup " + id + " is now permanent: retention never removes it");
                agent.out().flush();
              }
            }
            return ExitCodes.OK;
          }
        }));
  }

  @Command(name = "list", description = "List the complete base backups, oldest first.")
  int list(@Mixin OutputOption output) throws IOException, InterruptedException {
    return agent.guarded(() -> agent.table("/v1/backups", output.value(),
        "%-20s %-25s %-3s %-12s %-12s %10s %10s  %s%n", new Object[] {"ID", "STOP TIME", "TL",
            "START LSN", "STOP LSN", "SIZE", "STORED", "LABEL"},
        b -> new Object[] {b.path("id").asText(), b.path("stopTime").asText(),
            b.path("timeline").asText(), b.path("startLsn").asText(), b.path("stopLsn").asText(),
            size(b.path("rawSize").asLong()), size(b.path("storedSize").asLong()),
            b.path("label").asText()}));
  }

  @Command(name = "show", description = "Show one base backup's manifest.")
  int show(@Parameters(paramLabel = "ID") String id,
      @Mixin OutputOption output) throws IOException, InterruptedException {
    return agent.guarded(() -> agent.show("/v1/backups/" + id, output.value(), m -> {
      if (m.path("state").asText().equals("running")) {
        agent.out().println("base backup " + id + " is running");
        return;
      }
      m.fields().forEachRemaining(f -> agent.out().printf("%-17s %s%n", f.getKey() + ":",
          f.getValue().asText()));
    }));
  }

  @Command(name = "delete", description = "Delete a base backup (the only complete one only "
      + "with --force).")
  int delete(@Parameters(paramLabel = "ID") String id,
      @Option(names = "--force", description = "Delete even the only complete backup.")
      boolean force,
      @Mixin OutputOption output) throws IOException, InterruptedException {
    return agent.guarded(() -> agent.delete("/v1/backups/" + id + (force ? "?force=true" : ""),
        output.value(), "base backup " + id + " deleted"));
  }

  private static String describe(JsonNode m) {
    return "base backup " + m.path("id").asText() + " complete: " + size(m.path("rawSize").asLong())
        + " (" + size(m.path("storedSize").asLong()) + " stored), WAL " + m.path("startLsn").asText()
        + " to " + m.path("stopLsn").asText() + " on timeline " + m.path("timeline").asText();
  }

  static String size(long bytes) {
    return CliText.size(bytes);
  }
}
