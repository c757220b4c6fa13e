package io.pgsidecar.agent.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code dump restore}'s option names: {@code --cluster} as everywhere, {@code --from-cluster} kept. */
class DumpRestoreCommandTest {

  private static DumpRestoreCommand parse(String... args) {
    DumpRestoreCommand c = new DumpRestoreCommand();
    new CommandLine(c).parseArgs(args);
    return c;
  }

  @Test
  void clusterAndTheOlderFromClusterNameTheSameCluster() {
    assertEquals("old", parse("20261122T021500Z", "--db", "shop", "--cluster", "old").fromCluster);
    assertEquals("old", parse("20261122T021500Z", "--db", "shop", "--from-cluster", "old")
        .fromCluster);
    assertEquals(null, parse("20261122T021500Z", "--db", "shop").fromCluster);
  }

  @Test
  void helpShowsBothSpellings() {
    String help = new CommandLine(new DumpRestoreCommand()).getUsageMessage();
    assertTrue(help.contains("--cluster, --from-cluster=NAME"), help);
  }
}
