package io.pgsidecar.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
    assertTrue(r.out().matches("(?s).*\nCommands:\n  agent +Run the sidecar daemon.*"), r.out());
    assertTrue(r.out().matches("(?s).*\n  config +Show or check the effective configuration\\.\n.*"),
        r.out());
    for (String command : List.of("backup", "dump", "wal", "restore")) {
      assertTrue(r.out().contains("\n  " + command + " "), command + " missing in " + r.out());
    }
    assertEquals("", r.err());
  }

  @Test
  void everySubcommandAnswersHelp() {
    for (String[] args : List.of(new String[] {"backup", "create", "--help"},
        new String[] {"dump", "restore", "-h"}, new String[] {"wal", "list", "--help"},
        new String[] {"restore", "--help"}, new String[] {"agent", "--help"})) {
      Run r = run(Map.of(), args);
      String name = String.join(" ", java.util.Arrays.copyOf(args, args.length - 1));
      assertEquals(0, r.code(), name + ": " + r.err());
      assertTrue(r.out().startsWith("Usage: pgsidecar " + name + " "), r.out());
    }
  }

  /**
   * One {@code --output text|json} (OutputOption) on every command that reads or reports: the
   * same help line, and another value refused before anything runs, with the same message and
   * the usage exit code, whichever feature the command belongs to.
   */
  @Test
  void everyReadCommandSharesOneOutputOption() {
    List<List<String>> commands = List.of(List.of("backup", "create"), List.of("backup", "list"),
        List.of("backup", "show", "ID"), List.of("backup", "delete", "ID"),
        List.of("dump", "create"), List.of("dump", "list"), List.of("dump", "show", "ID"),
        List.of("dump", "delete", "ID"), List.of("dump", "restore", "ID"),
        List.of("retention", "apply"), List.of("status"), List.of("check"),
        List.of("wal", "list"), List.of("wal", "verify"), List.of("backup", "verify", "ID"),
        List.of("dump", "verify", "ID"), List.of("drill"));
    for (List<String> command : commands) {
      String name = String.join(" ", command);
      List<String> words = command.stream().filter(w -> !w.equals("ID")).toList();
      Run help = run(Map.of(), java.util.stream.Stream.concat(words.stream(),
          java.util.stream.Stream.of("--help")).toArray(String[]::new));
      assertEquals(0, help.code(), name + ": " + help.err());
      assertTrue(help.out().contains("      --output=text|json   text (default) or json (one document on"
          + " stdout).\n"), name + ": " + help.out());
      Run bad = run(Map.of(), java.util.stream.Stream.concat(command.stream(),
          java.util.stream.Stream.of("--output", "xml")).toArray(String[]::new));
      assertEquals(2, bad.code(), name + ": " + bad.out() + bad.err());
      assertTrue(bad.err().startsWith("Invalid value for option '--output': expected one of"
          + " [text, json] (case-sensitive) but was 'xml'\n"), name + ": " + bad.err());
    }
  }

  @Test
  void everyDeclaredCommandIsRegistered() {
    var names = Main.commandLine(Map.of()).getSubcommands().keySet();
    assertEquals(Main.COMMANDS.size(), names.size(), names.toString());
  }

  /** A command line that names a command builds that command's model only (start-up time). */
  @Test
  void aCommandLineBuildsOnlyTheCommandItNames() {
    assertEquals(List.of(io.pgsidecar.agent.restore.RestoreCommand.class),
        Main.calledCommands(new String[] {"--config", "p.yaml", "restore", "--dry-run"}));
    assertEquals(List.of(io.pgsidecar.agent.restore.RestoreCommand.class),
        Main.calledCommands(new String[] {"--config=p.yaml", "restore"}));
    assertEquals(Main.COMMANDS, Main.calledCommands(new String[] {"--help"}));
    assertEquals(Main.COMMANDS, Main.calledCommands(new String[] {"--config", "restore"}));
    assertEquals(Main.COMMANDS, Main.calledCommands(new String[] {"restor"}));
    assertEquals(Main.COMMANDS, Main.calledCommands(new String[0]));
  }

  @Test
  void aMistypedCommandStillGetsASuggestionFromTheWholeTree() {
    Run r = run(Map.of(), "restor");
    assertEquals(2, r.code());
    assertTrue(r.err().startsWith("Unmatched argument at index 0: 'restor'\nDid you mean: pgsidecar restore"),
        r.err());
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
  void configShowAsJsonIsTheSameTreeWithSecretsRedacted() throws IOException {
    Path yaml = Files.writeString(dir.resolve("p.yaml"), "cluster: main\nstorage:\n  type: azure\n"
        + "  azure:\n    container: backups\n    auth: connection-string\n");
    Run r = run(Map.of("PGSIDECAR_CONFIG", yaml.toString(),
        "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING", "AccountName=a;AccountKey=SECRETKEY",
        "PGSIDECAR_WAL_PREFETCH_COUNT", "3"), "config", "show", "--output", "json");
    assertEquals(0, r.code(), r.err());
    var doc = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());
    assertEquals("main", doc.path("cluster").asText());
    assertEquals("<redacted>", doc.path("storage").path("azure").path("connection-string").asText());
    assertEquals(3, doc.path("wal").path("prefetch-count").asInt());
    assertTrue(doc.path("wal").path("prefetch-count").isInt(), r.out());
    assertFalse(r.out().contains("SECRETKEY"), r.out());
    Run bad = run(Map.of("PGSIDECAR_CONFIG", yaml.toString(),
        "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING", "AccountName=a;AccountKey=SECRETKEY"),
        "config", "show", "--output", "xml");
    assertEquals(2, bad.code());
    assertTrue(bad.err().startsWith("--output 'xml': expected yaml or json"), bad.err());
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
  void aStorageFailureIsOneLineNamingTheCommandAndWhatToDoWithExitCode3() {
    Path missing = dir.resolve("no-such-repository");
    Run r = run(Map.of("PGSIDECAR_STORAGE_TYPE", "fs", "PGSIDECAR_STORAGE_PATH", missing.toString(),
        "PGSIDECAR_CLUSTER", "db1"), "wal", "list");
    assertEquals(3, r.code(), r.err());
    assertEquals("pgsidecar wal list: storage path " + missing
        + " does not exist or is not a directory (list db1/wal/): create it or fix storage.path\n",
        r.err());
    assertEquals("", r.out());
  }

  @Test
  void anUnknownOptionIsAUsageError() {
    Run r = run(Map.of(), "config", "show", "--colour");
    assertEquals(2, r.code());
    assertTrue(r.err().startsWith("Unknown option: '--colour'"), r.err());
  }
}
