package io.pgsidecar.agent.cli.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;

/**
 * What every command that asks the running agent shares ({@code pgsidecar backup}, {@code dump}):
 * one request and its answer, the refusal printed as one line with the agent's status and turned
 * into the exit code of the same cause ({@link ExitCodes#ofStatus}), "cannot reach the agent" as
 * exit 3, polling a job until it ends, and text or JSON output.
 */
public final class AgentCalls {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** How the output looks: {@code text} for people, {@code json} for scripts. */
  public enum Output { text, json }

  /** A command's body; it returns the exit code. */
  @FunctionalInterface
  public interface Body {
    int run() throws IOException, InterruptedException;
  }

  private final String command;
  private final Supplier<AgentClient> agent;
  private final Supplier<CommandSpec> spec;
  private final Duration pollInterval;

  /**
   * @param command the subcommand's name in messages ({@code "backup"})
   * @param spec the command's spec (its writers), once picocli has injected it
   */
  public AgentCalls(String command, Supplier<AgentClient> agent, Supplier<CommandSpec> spec,
      Duration pollInterval) {
    this.command = command;
    this.agent = agent;
    this.spec = spec;
    this.pollInterval = pollInterval;
  }

  /** Runs {@code body}; an agent that does not answer is exit 3, apart from "the agent said no". */
  public int guarded(Body body) throws IOException, InterruptedException {
    try {
      return body.run();
    } catch (Unreachable e) {
      err().println("pgsidecar " + command + ": " + e.getMessage()
          + " (is the agent running, and is http.admin-socket right?)");
      err().flush();
      return ExitCodes.UNAVAILABLE;
    }
  }

  /** One request; {@code body} is JSON or null. */
  public AgentClient.Response call(String method, String path, String body) {
    try {
      return agent.get().send(method, path, body);
    } catch (IOException e) {
      throw new Unreachable(e);
    }
  }

  /**
   * Polls {@code GET path} while the agent answers 202 (the job runs), showing each progress
   * document to {@code progress}; the first other answer.
   */
  public AgentClient.Response awaitEnd(String path, Consumer<JsonNode> progress)
      throws InterruptedException {
    while (true) {
      AgentClient.Response s = call("GET", path, null);
      if (s.status() != 202) {
        return s;
      }
      progress.accept(json(s.body()));
      Thread.sleep(pollInterval);
    }
  }

  /** What a command does around a job it starts ({@link #start}). */
  public interface Job {
    /** A progress document while the job runs (waiting only). */
    default void progress(JsonNode running) {}

    /** The job ended (waiting only), before its end is judged. */
    default void ended() {}

    /** The exit code of a job that ended with 200 and {@code end} (waiting only). */
    int complete(AgentClient.Response end);
  }

  /**
   * Starts a job with {@code POST collection} and {@code body}: prints "{@code what} ID started"
   * (or the agent's JSON), or with {@code wait} polls {@code collection/ID} until it ends.
   */
  public int start(String collection, String body, boolean wait, Output output, String what,
      Job job) throws InterruptedException {
    AgentClient.Response r = call("POST", collection, body);
    if (r.status() != 202) {
      return fail(r);
    }
    String id = json(r.body()).path("id").asText();
    if (!wait) {
      print(output, r.body(), what + " " + id + " started");
      return ExitCodes.OK;
    }
    AgentClient.Response end = awaitEnd(collection + "/" + id, job::progress);
    job.ended();
    return end.status() == 200 ? job.complete(end) : fail(end);
  }

  /**
   * {@code GET collection} as a table: the header, then one row per element ({@code row} gives
   * its cells); the agent's JSON as is with {@code --output json}.
   */
  public int table(String collection, Output output, String format, Object[] header,
      java.util.function.Function<JsonNode, Object[]> row) {
    return show(collection, output, list -> {
      out().printf(format, header);
      for (JsonNode element : list) {
        out().printf(format, row.apply(element));
      }
    });
  }

  /** Prints the agent's refusal with its status; the exit code of that status. */
  public int fail(AgentClient.Response r) {
    err().println("pgsidecar " + command + ": " + CliText.refusal(r));
    err().flush();
    return ExitCodes.ofStatus(r.status());
  }

  /** {@code GET path} (a list, one job): its JSON as is, or {@code text} made from it. */
  public int show(String path, Output output, Consumer<JsonNode> text) {
    AgentClient.Response r = call("GET", path, null);
    if (r.status() != 200 && r.status() != 202) {
      return fail(r);
    }
    if (output == Output.json) {
      out().println(r.body());
    } else {
      text.accept(json(r.body()));
    }
    out().flush();
    return ExitCodes.OK;
  }

  /** {@code DELETE path}; prints {@code done} (or the agent's JSON). */
  public int delete(String path, Output output, String done) {
    AgentClient.Response r = call("DELETE", path, null);
    if (r.status() != 200) {
      return fail(r);
    }
    print(output, r.body(), done);
    return ExitCodes.OK;
  }

  /** The agent's JSON, or {@code text}. */
  public void print(Output output, String json, String text) {
    out().println(output == Output.json ? json : text);
    out().flush();
  }

  public static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException("the agent answered with no JSON: " + text, e);
    }
  }

  public PrintWriter out() {
    return spec.get().commandLine().getOut();
  }

  public PrintWriter err() {
    return spec.get().commandLine().getErr();
  }

  /** The agent did not answer. */
  private static final class Unreachable extends RuntimeException {
    Unreachable(IOException cause) {
      super(cause.getMessage(), cause);
    }
  }
}
