package io.pgsidecar.agent.retention;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgsidecar.agent.cli.support.AgentCalls;
import io.pgsidecar.agent.cli.support.AgentClient;
import io.pgsidecar.agent.cli.support.CliText;
import io.pgsidecar.agent.cli.support.ExitCodes;
import io.pgsidecar.agent.cli.support.OutputOption;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code pgsidecar retention apply [--dry-run] [--output json]}: asks the running agent to apply
 * retention (or only to plan it) and prints every object that goes and the rule that removes it,
 * then what stays. {@link Keep} and {@link Release} are {@code backup keep|release ID} and
 * {@code dump keep|release ID}. Exit codes as every command's ({@link ExitCodes}): 0 done, 2
 * usage error, 3 the agent or storage cannot be reached (what was not deleted stays; run it
 * again), 4 no such backup or dump, 6 a retention run is already under way.
 */
@Command(name = "retention", mixinStandardHelpOptions = true,
    description = "Remove backups, dumps and WAL that the retention.* rules no longer keep.")
public final class RetentionCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Supplier<AgentClient> agent;

  @Spec
  CommandSpec spec;

  public RetentionCommand() {
    this.agent = () -> AgentClient.forCommand(spec);
  }

  public RetentionCommand(Supplier<AgentClient> agent) {
    this.agent = agent;
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getOut());
    return ExitCodes.USAGE;
  }

  @Command(name = "apply", description = "Apply the retention.* rules now: remove what no rule"
      + " keeps, object by object; with --dry-run only print what would go and why.")
  int apply(
      @Option(names = "--dry-run", description = "Plan only; remove nothing.") boolean dryRun,
      @Mixin OutputOption output) {
    AgentCalls calls = new AgentCalls("retention", agent, () -> spec, java.time.Duration.ofSeconds(1));
    try {
      return calls.guarded(() -> {
        AgentClient.Response r = calls.call("POST", "/v1/retention",
            JSON.createObjectNode().put("dryRun", dryRun).toString());
        if (r.status() != 200) {
          return calls.fail(r);
        }
        if (output.json()) {
          calls.print(AgentCalls.Output.json, r.body(), "");
        } else {
          print(AgentCalls.json(r.body()), calls.out());
          calls.out().flush();
        }
        return ExitCodes.OK;
      });
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExitCodes.FAILED;
    }
  }

  /** The text form of a report: what goes (each object), what stays, the totals. */
  public static void print(JsonNode report, PrintWriter out) {
    boolean dry = report.path("dryRun").asBoolean();
    JsonNode policy = report.path("policy");
    out.println("retention" + (dry ? " (dry run, nothing removed)" : "") + " at "
        + report.path("now").asText() + ": base backups " + policy.path("baseBackups").asText()
        + "; dumps " + policy.path("dumps").asText() + "; orphan-age " + policy.path("orphanAge").asText());
    for (JsonNode d : report.path("removed")) {
      out.println((dry ? "would remove " : "removed ") + d.path("kind").asText() + " "
          + d.path("id").asText() + " [" + d.path("rule").asText() + "] " + d.path("reason").asText());
      if (d.path("objects").size() > 1 || !d.path("kind").asText().matches("wal|history")) {
        for (JsonNode o : d.path("objects")) {
          out.println("    " + o.path("key").asText() + " (" + CliText.size(o.path("bytes").asLong()) + ")");
        }
      }
    }
    for (JsonNode d : report.path("kept")) {
      out.println("keep " + d.path("kind").asText() + " " + d.path("id").asText() + " ["
          + d.path("rule").asText() + "] " + d.path("reason").asText());
    }
    for (JsonNode t : report.path("tiers")) {
      out.println((dry ? "would set " : "set ") + t.path("key").asText() + " to tier "
          + t.path("tier").asText() + " [" + t.path("rule").asText() + "]");
    }
    report.path("keptCounts").fields().forEachRemaining(e -> {
      StringBuilder sb = new StringBuilder("keep " + e.getKey() + ":");
      e.getValue().fields().forEachRemaining(r -> sb.append(' ').append(r.getValue().asInt())
          .append(" [").append(r.getKey()).append(']'));
      out.println(sb);
    });
    JsonNode s = report.path("summary");
    out.println((dry ? "would remove " : "removed ") + s.path("removedObjects").asLong() + " objects ("
        + CliText.size(s.path("removedBytes").asLong()) + ")"
        + (s.has("alreadyGone") && s.path("alreadyGone").asLong() > 0
            ? ", " + s.path("alreadyGone").asLong() + " of them already gone" : "")
        + (s.path("leftAsPermanent").asLong() > 0
            ? "; " + s.path("leftAsPermanent").asLong() + " items marked permanent meanwhile were left" : ""));
    JsonNode stored = report.path("stored");
    if (stored.has("before")) {
      for (String[] k : new String[][] {{"baseBackups", "base backups"}, {"dumps", "dumps"},
          {"wal", "WAL"}, {"debris", "debris"}}) {
        JsonNode b = stored.path("before").path(k[0]);
        JsonNode a = stored.path("after").path(k[0]);
        if (b.path("objects").asLong() == 0 && a.path("objects").asLong() == 0) {
          continue;
        }
        out.printf("stored %s: %s before, %s %s%n", k[1], stored(b), stored(a),
            dry ? "after (would be)" : "after");
      }
    }
  }

  private static String stored(JsonNode usage) {
    long n = usage.path("objects").asLong();
    return CliText.size(usage.path("bytes").asLong()) + " in " + n + (n == 1 ? " object" : " objects");
  }

  /** Marks or releases a backup or dump; the subclasses name the command and the route. */
  abstract static class Mark implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "ID", description = "The id (see the list command).")
    String id;

    abstract String route();

    abstract boolean keep();

    String note() {
      return "";
    }

    @Override
    public Integer call() throws IOException, InterruptedException {
      String what = route().equals("backups") ? "base backup" : "dump";
      AgentCalls calls = new AgentCalls(route().equals("backups") ? "backup" : "dump",
          () -> AgentClient.forCommand(spec), () -> spec, java.time.Duration.ofSeconds(1));
      return calls.guarded(() -> {
        AgentClient.Response r = calls.call(keep() ? "POST" : "DELETE",
            "/v1/" + route() + "/" + java.net.URLEncoder.encode(id, java.nio.charset.StandardCharsets.UTF_8)
                + "/keep", keep() ? JSON.createObjectNode().put("note", note()).toString() : null);
        if (r.status() != 200) {
          return calls.fail(r);
        }
        boolean changed = AgentCalls.json(r.body()).path("changed").asBoolean();
        calls.print(AgentCalls.Output.text, r.body(), keep()
            ? what + " " + id + (changed ? " is now permanent: retention never removes it" : " was permanent already")
            : what + " " + id + (changed ? " released: retention treats it like any other from its next run"
                : " was not permanent"));
        return ExitCodes.OK;
      });
    }
  }

  /** {@code keep}: marks permanent, with an optional note stored with the mark. */
  abstract static class Keep extends Mark {
    @Option(names = "--note", defaultValue = "", description = "Why it is kept (stored with the mark).")
    String note;

    @Override
    boolean keep() {
      return true;
    }

    @Override
    String note() {
      return note;
    }
  }

  /** {@code release}: removes the mark. */
  abstract static class Release extends Mark {
    @Override
    boolean keep() {
      return false;
    }
  }

  @Command(name = "keep", description = "Mark a base backup permanent: retention never removes it,"
      + " nor the WAL it needs to reach consistency.")
  public static final class BackupKeep extends Keep {
    @Override
    String route() {
      return "backups";
    }
  }

  @Command(name = "release", description = "Release a permanent base backup: retention's rules apply to it again.")
  public static final class BackupRelease extends Release {
    @Override
    String route() {
      return "backups";
    }
  }

  @Command(name = "keep", description = "Mark a dump permanent: retention never removes it.")
  public static final class DumpKeep extends Keep {
    @Override
    String route() {
      return "dumps";
    }
  }

  @Command(name = "release", description = "Release a permanent dump: retention's rules apply to it again.")
  public static final class DumpRelease extends Release {
    @Override
    String route() {
      return "dumps";
    }
  }
}
