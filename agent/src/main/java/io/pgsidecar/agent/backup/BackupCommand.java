package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.cli.AgentClient;
import io.pgsidecar.agent.cli.CliText;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar backup create|list|show|delete}: asks the running agent (through its unix
 * socket) to do it, so the CLI never needs storage credentials. Exit codes: 0 done, 1 the agent
 * said no or the backup failed, 2 usage error, 3 the agent cannot be reached.
 */
@Command(name = "backup", mixinStandardHelpOptions = true,
    description = "Create, list, show and delete base backups (through the running agent).",
    subcommands = {io.pgsidecar.agent.retention.RetentionCommand.BackupKeep.class,
        io.pgsidecar.agent.retention.RetentionCommand.BackupRelease.class})
public final class BackupCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** How the output looks: {@code text} for people, {@code json} for scripts. */
  public enum Output { text, json }

  private final Supplier<AgentClient> agent;
  private final Duration pollInterval;

  @Spec
  CommandSpec spec;

  /** The production wiring: the agent of the configuration's socket. */
  public BackupCommand() {
    this.agent = () -> AgentClient.forCommand(spec);
    this.pollInterval = Duration.ofSeconds(1);
  }

  public BackupCommand(Supplier<AgentClient> agent) {
    this(agent, Duration.ofSeconds(1));
  }

  BackupCommand(Supplier<AgentClient> agent, Duration pollInterval) {
    this.agent = agent;
    this.pollInterval = pollInterval;
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(out());
    return 2;
  }

  @Command(name = "create", description = "Start a base backup; with --wait, wait for it and "
      + "show progress.")
  int create(
      @Option(names = "--label", description = "Free text stored with the backup.") String label,
      @Option(names = "--wait", description = "Wait until the backup is complete.") boolean wait,
      @Option(names = "--output", defaultValue = "text", description = "text or json")
      Output output) throws IOException, InterruptedException {
    return guarded(() -> {
      ObjectNode body = JSON.createObjectNode();
      if (label != null) {
        body.put("label", label);
      }
      AgentClient.Response r = call("POST", "/v1/backups", body.toString());
      if (r.status() != 202) {
        return fail(r);
      }
      String id = JSON.readTree(r.body()).path("id").asText();
      if (!wait) {
        print(output, r.body(), "base backup " + id + " started");
        return 0;
      }
      // json output keeps stdout one JSON document: progress goes to stderr then
      Progress progress = new Progress(output == Output.json ? err() : out(),
          System.console() != null);
      while (true) {
        AgentClient.Response s = call("GET", "/v1/backups/" + id, null);
        if (s.status() == 202) {
          progress.update(JSON.readTree(s.body()));
          Thread.sleep(pollInterval);
          continue;
        }
        progress.finish();
        if (s.status() != 200) {
          return fail(s);
        }
        print(output, s.body(), describe(JSON.readTree(s.body())));
        return 0;
      }
    });
  }

  @Command(name = "list", description = "List the complete base backups, oldest first.")
  int list(@Option(names = "--output", defaultValue = "text", description = "text or json")
      Output output) throws IOException, InterruptedException {
    return guarded(() -> {
      AgentClient.Response r = call("GET", "/v1/backups", null);
      if (r.status() != 200) {
        return fail(r);
      }
      if (output == Output.json) {
        out().println(r.body());
      } else {
        out().printf("%-20s %-25s %-3s %-12s %-12s %10s %10s  %s%n", "ID", "STOP TIME", "TL",
            "START LSN", "STOP LSN", "SIZE", "STORED", "LABEL");
        for (JsonNode b : JSON.readTree(r.body())) {
          out().printf("%-20s %-25s %-3s %-12s %-12s %10s %10s  %s%n", b.path("id").asText(),
              b.path("stopTime").asText(), b.path("timeline").asText(), b.path("startLsn").asText(),
              b.path("stopLsn").asText(), size(b.path("rawSize").asLong()),
              size(b.path("storedSize").asLong()), b.path("label").asText());
        }
      }
      out().flush();
      return 0;
    });
  }

  @Command(name = "show", description = "Show one base backup's manifest.")
  int show(@Parameters(paramLabel = "ID") String id,
      @Option(names = "--output", defaultValue = "text", description = "text or json")
      Output output) throws IOException, InterruptedException {
    return guarded(() -> {
      AgentClient.Response r = call("GET", "/v1/backups/" + id, null);
      if (r.status() == 202) {
        print(output, r.body(), "base backup " + id + " is running");
        return 0;
      }
      if (r.status() != 200) {
        return fail(r);
      }
      if (output == Output.json) {
        out().println(r.body());
      } else {
        JsonNode m = JSON.readTree(r.body());
        m.fields().forEachRemaining(f -> out().printf("%-17s %s%n", f.getKey() + ":",
            f.getValue().asText()));
      }
      out().flush();
      return 0;
    });
  }

  @Command(name = "delete", description = "Delete a base backup (the only complete one only "
      + "with --force).")
  int delete(@Parameters(paramLabel = "ID") String id,
      @Option(names = "--force", description = "Delete even the only complete backup.")
      boolean force,
      @Option(names = "--output", defaultValue = "text", description = "text or json")
      Output output) throws IOException, InterruptedException {
    return guarded(() -> {
      AgentClient.Response r = call("DELETE", "/v1/backups/" + id + (force ? "?force=true" : ""),
          null);
      if (r.status() != 200) {
        return fail(r);
      }
      print(output, r.body(), "base backup " + id + " deleted");
      return 0;
    });
  }

  private AgentClient.Response call(String method, String path, String body) {
    try {
      return agent.get().send(method, path, body);
    } catch (IOException e) {
      throw new Unreachable(e);
    }
  }

  /** The agent did not answer: exit code 3, distinct from "the agent said no". */
  private static final class Unreachable extends RuntimeException {
    Unreachable(IOException cause) {
      super(cause.getMessage(), cause);
    }
  }

  private interface Body {
    int run() throws IOException, InterruptedException;
  }

  private int guarded(Body body) throws IOException, InterruptedException {
    try {
      return body.run();
    } catch (Unreachable e) {
      err().println("pgsidecar backup: " + e.getMessage()
          + " (is the agent running, and is http.admin-socket right?)");
      err().flush();
      return 3;
    }
  }

  private int fail(AgentClient.Response r) {
    err().println("pgsidecar backup: " + CliText.refusal(r));
    err().flush();
    return 1;
  }

  private void print(Output output, String json, String text) {
    out().println(output == Output.json ? json : text);
    out().flush();
  }

  private static String describe(JsonNode m) {
    return "base backup " + m.path("id").asText() + " complete: " + size(m.path("rawSize").asLong())
        + " (" + size(m.path("storedSize").asLong()) + " stored), WAL " + m.path("startLsn").asText()
        + " to " + m.path("stopLsn").asText() + " on timeline " + m.path("timeline").asText();
  }

  static String size(long bytes) {
    return CliText.size(bytes);
  }

  private PrintWriter out() {
    return spec.commandLine().getOut();
  }

  private PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** A one-line bar on a terminal; a line every 10 s otherwise. No total is known up front. */
  private static final class Progress {
    private final PrintWriter out;
    private final boolean terminal;
    private long lastLine;
    private boolean drawn;

    Progress(PrintWriter out, boolean terminal) {
      this.out = out;
      this.terminal = terminal;
    }

    void update(JsonNode p) {
      long now = System.nanoTime();
      double secs = Math.max(0.001, Duration.between(java.time.Instant.parse(
          p.path("startedAt").asText()), java.time.Instant.now()).toMillis() / 1000.0);
      long raw = p.path("rawBytes").asLong();
      String line = String.format(Locale.ROOT, "base backup %s: %-15s %10s read, %10s stored, "
          + "%.1f MiB/s", p.path("id").asText(), p.path("phase").asText(), size(raw),
          size(p.path("storedBytes").asLong()), raw / 1048576.0 / secs);
      if (terminal) {
        out.print("\r" + line);
        drawn = true;
        out.flush();
      } else if (now - lastLine > 10_000_000_000L || lastLine == 0) {
        out.println(line);
        out.flush();
        lastLine = now;
      }
    }

    void finish() {
      if (drawn) {
        out.println();
        out.flush();
      }
    }
  }
}
