package io.pgsidecar.agent.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.cli.support.AgentClient;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The CLI against a scripted agent: what it sends, what it prints, its exit codes. */
class DumpCommandTest {

  static final String COMPLETE = "{\"id\":\"20261122T021500Z\",\"state\":\"COMPLETE\",\"label\":\"m\","
      + "\"manifest\":{\"id\":\"20261122T021500Z\",\"startTime\":\"2026-11-22T02:15:00Z\","
      + "\"stopTime\":\"2026-11-22T02:16:00Z\",\"serverVersion\":\"15.8\","
      + "\"globals\":{\"name\":\"globals\",\"rawSize\":1000,\"storedSize\":500,\"codec\":\"zstd\"},"
      + "\"databases\":[{\"name\":\"shop\",\"rawSize\":3145728,\"storedSize\":1048576,"
      + "\"codec\":\"zstd\",\"plainSha256\":\"ab\"}]}}";

  final List<String> sent = new ArrayList<>();
  final Deque<AgentClient.Response> answers = new ArrayDeque<>();
  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();

  int run(String... args) {
    AgentClient agent = (method, path, body) -> {
      sent.add(method + " " + path + (body == null ? "" : " " + body));
      return answers.removeFirst();
    };
    CommandLine cl = new CommandLine(new DumpCommand(() -> agent, config -> {
      throw new AssertionError("no restore here");
    }, Duration.ZERO));
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void createWithWaitPostsTheSelectionAndPollsUntilComplete() {
    answers.add(new AgentClient.Response(202, "{\"id\":\"20261122T021500Z\",\"state\":\"RUNNING\"}"));
    answers.add(new AgentClient.Response(202, "{\"id\":\"20261122T021500Z\",\"state\":\"RUNNING\"}"));
    answers.add(new AgentClient.Response(200, COMPLETE));

    assertEquals(0, run("create", "--db", "shop", "--db", "crm", "--label", "m", "--wait"));

    assertEquals(List.of("POST /v1/dumps {\"label\":\"m\",\"databases\":[\"shop\",\"crm\"]}",
        "GET /v1/dumps/20261122T021500Z", "GET /v1/dumps/20261122T021500Z"), sent);
    assertEquals("dump 20261122T021500Z complete: shop, 3.0 MiB (1.0 MiB stored)\n", out.toString());
  }

  @Test
  void createWithWaitShowsTheBytesDumpedSoFarOnStderrWhenTheOutputIsJson() {
    String started = java.time.Instant.now().minusSeconds(2).toString();
    answers.add(new AgentClient.Response(202, "{\"id\":\"20261122T021500Z\",\"state\":\"RUNNING\"}"));
    answers.add(new AgentClient.Response(202, "{\"id\":\"20261122T021500Z\",\"state\":\"RUNNING\","
        + "\"progress\":{\"startedAt\":\"" + started + "\",\"object\":\"shop\","
        + "\"dumpedBytes\":3145728}}"));
    answers.add(new AgentClient.Response(200, COMPLETE));

    assertEquals(0, run("create", "--wait", "--output", "json", "--progress", "always"));

    assertTrue(err.toString().startsWith("\rdump 20261122T021500Z: shop: 3.0 MiB, "), err.toString());
    assertTrue(err.toString().endsWith("\033[K\n"), err.toString());
    assertEquals(COMPLETE, out.toString().strip(), "stdout stays one JSON document");
  }

  @Test
  void aFailedDumpPrintsPgDumpsWordsAndExitsWith1() {
    answers.add(new AgentClient.Response(202, "{\"id\":\"20261122T021500Z\"}"));
    answers.add(new AgentClient.Response(200, "{\"id\":\"20261122T021500Z\",\"state\":\"FAILED\","
        + "\"failure\":{\"message\":\"dump 20261122T021500Z failed on shop: pg_dump failed\","
        + "\"stderr\":\"pg_dump: error: connection refused\"}}"));

    assertEquals(1, run("create", "--wait"));

    assertEquals("pgsidecar dump: dump 20261122T021500Z failed on shop: pg_dump failed\n"
        + "pg_dump: error: connection refused\n", err.toString());
  }

  @Test
  void listPrintsOneLinePerDumpOrTheAgentsJson() {
    answers.add(new AgentClient.Response(200, "[" + COMPLETE + "]"));
    assertEquals(0, run("list"));
    String[] lines = out.toString().split("\n");
    assertEquals(2, lines.length);
    assertTrue(lines[0].startsWith("ID                   STATE      START TIME"), lines[0]);
    assertTrue(lines[1].matches("20261122T021500Z\\s+COMPLETE\\s+2026-11-22T02:15:00Z\\s+3\\.0 MiB"
        + "\\s+1\\.0 MiB\\s+shop\\s+m"), lines[1]);

    answers.add(new AgentClient.Response(200, "[" + COMPLETE + "]"));
    StringWriter before = new StringWriter();
    before.write(out.toString());
    assertEquals(0, run("list", "--output", "json"));
    assertEquals("[" + COMPLETE + "]\n", out.toString().substring(before.toString().length()));
  }

  /** A 409 is a conflict: exit 6 (ExitCodes; before the table, every refusal exited 1). */
  @Test
  void refusalsOfTheAgentAreShownWithTheirStatus() {
    answers.add(new AgentClient.Response(409, "{\"error\":\"dump 20261122T021500Z is running;"
        + " one dump runs at a time, retry after it has finished\",\"runningId\":\"20261122T021500Z\"}"));
    assertEquals(6, run("create"));
    assertEquals("pgsidecar dump: dump 20261122T021500Z is running; one dump runs at a time,"
        + " retry after it has finished (HTTP 409)\n", err.toString());
  }

  @Test
  void schemaOnlyAndDataOnlyExcludeEachOther() {
    assertEquals(2, run("restore", "20261122T021500Z", "--target", "postgresql://h/postgres",
        "--schema-only", "--data-only"));
    assertTrue(err.toString().contains("mutually exclusive"), err.toString());
  }
}
