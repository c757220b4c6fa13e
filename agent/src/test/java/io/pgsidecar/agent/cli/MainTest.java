package io.pgsidecar.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {

  @TempDir Path dir;

  /** What one run printed and returned. */
  record Run(int code, String out, String err) {}

  private static Run run(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, env, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void helpListsTheCommandsAndTheConfigOption() {
    Run r = run(Map.of(), "--help");
    assertEquals(0, r.code());
    assertTrue(r.out().startsWith("Usage: pgsidecar [-hV] [--config=FILE] COMMAND"), r.out());
    assertTrue(r.out().contains("\nCommands:\n  agent   Run the sidecar daemon: WAL push/fetch on the"
        + " agent's unix socket.\n  config  Show or check the effective configuration.\n"), r.out());
    assertEquals("", r.err());
  }

  @Test
  void everyDeclaredCommandIsRegistered() {
    var names = Main.commandLine(Map.of()).getSubcommands().keySet();
    assertEquals(Main.COMMANDS.size(), names.size(), names.toString());
  }

  @Test
  void versionNamesTheProgram() {
    Run r = run(Map.of(), "--version");
    assertEquals(0, r.code());
    assertTrue(r.out().startsWith("pgsidecar "), r.out());
  }

  @Test
  void noCommandIsAUsageError() {
    Run r = run(Map.of());
    assertEquals(2, r.code());
    assertTrue(r.err().startsWith("Missing required subcommand"), r.err());
  }

  @Test
  void configShowPrintsTheEffectiveConfigWithSecretsRedacted() throws IOException {
    Path yaml = Files.writeString(dir.resolve("p.yaml"), "cluster: main\nstorage:\n  type: azure\n"
        + "  azure:\n    container: backups\n    auth: connection-string\n");
    Run r = run(Map.of("PGSIDECAR_CONFIG", yaml.toString(),
        "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING", "AccountName=a;AccountKey=SECRETKEY",
        "PGSIDECAR_WAL_PREFETCH_COUNT", "3"), "config", "show");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("cluster: main\n"), r.out());
    assertTrue(r.out().contains("    connection-string: <redacted>\n"), r.out());
    assertTrue(r.out().contains("  prefetch-count: 3\n"), r.out());
    assertFalse(r.out().contains("SECRETKEY"), r.out());
  }

  @Test
  void configOptionWorksAfterTheSubcommandAndWinsOverTheVariable() throws IOException {
    Path yaml = Files.writeString(dir.resolve("p.yaml"), "cluster: from-option\nstorage:\n  path: /r\n");
    Run r = run(Map.of("PGSIDECAR_CONFIG", dir.resolve("missing.yaml").toString()),
        "config", "check", "--config", yaml.toString());
    assertEquals(0, r.code(), r.err());
    assertEquals("configuration is valid: cluster 'from-option', storage fs /r, file " + yaml + "\n",
        r.out());
  }

  @Test
  void configCheckReportsEveryErrorOnStderrWithExitCode2() throws IOException {
    Path yaml = Files.writeString(dir.resolve("p.yaml"), "storage:\n  azure:\n    acount: x\n");
    Run r = run(Map.of("PGSIDECAR_METRICS_PORT", "http"), "--config", yaml.toString(), "config", "check");
    assertEquals(2, r.code());
    assertEquals("", r.out());
    assertEquals("""
        pgsidecar: invalid configuration (4 errors; every key is listed in docs/configuration.md):
          - unknown key 'storage.azure.acount' in %s: did you mean 'storage.azure.account'?
          - metrics.port: expected an integer from 0 to 65535, got 'http' (from PGSIDECAR_METRICS_PORT)
          - cluster is required: set it in the YAML file or with PGSIDECAR_CLUSTER
          - storage.path is required when storage.type is fs: set it in the YAML file or with PGSIDECAR_STORAGE_PATH
        """.formatted(yaml), r.err());
  }

  @Test
  void anUnknownOptionIsAUsageError() {
    Run r = run(Map.of(), "config", "show", "--colour");
    assertEquals(2, r.code());
    assertTrue(r.err().startsWith("Unknown option: '--colour'"), r.err());
  }
}
