package io.pgsidecar.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class AgentCommandTest {

  @Test
  void helpNamesTheSubcommandAndWhatItDoesWithoutStartingAnything() {
    AgentCommand cmd = new AgentCommand(() -> {
      throw new AssertionError("--help must not load the configuration");
    });
    StringWriter out = new StringWriter();
    CommandLine cli = new CommandLine(cmd);
    cli.setOut(new PrintWriter(out));
    assertEquals(0, cli.execute("--help"));
    assertTrue(out.toString().startsWith("Usage: agent"), out.toString());
    assertTrue(out.toString().contains("Run the sidecar daemon"), out.toString());
  }
}
