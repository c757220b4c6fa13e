package io.pgsidecar.e2e;

import io.pgsidecar.protocol.AgentConnection;
import io.pgsidecar.testkit.Waits;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The agent as its own process ({@code pgsidecar --config FILE agent}, the CLI's main class on
 * the test class path), so that a test can SIGKILL it like the kernel's OOM killer or a node
 * failure would. Its output goes to a log file that failures quote.
 */
final class AgentProcess implements AutoCloseable {

  private final Path config;
  private final Path socket;
  private final Path log;
  private List<String> jvmOptions = List.of();
  private Map<String, String> environment = Map.of();
  private Process process;

  AgentProcess(Path config, Path socket, Path log) {
    this.config = config;
    this.socket = socket;
    this.log = log;
  }

  /**
   * Extra JVM options (a trust store for a private CA) and environment variables (an Azure
   * identity's, as the AKS webhook or the node gives them) for every later {@link #start()}.
   */
  AgentProcess with(List<String> jvmOptions, Map<String, String> environment) {
    this.jvmOptions = List.copyOf(jvmOptions);
    this.environment = Map.copyOf(environment);
    return this;
  }

  /** The CLI ({@code pgsidecar --config FILE ARGS...}) as a process of its own. */
  static ProcessBuilder cli(Path config, Path log, String... args) {
    return cli(config, log, List.of(), Map.of(), args);
  }

  /**
   * The CLI with extra JVM options and environment; the test JVM's own Azure identity variables
   * ({@code AZURE_*}, {@code IDENTITY_*}, {@code MSI_*}) are never passed on, only {@code env}'s.
   */
  static ProcessBuilder cli(Path config, Path log, List<String> jvmOptions,
      Map<String, String> env, String... args) {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xmx256m"));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.pgsidecar.agent.cli.Main",
        "--config", config.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    // the agent refuses PGSIDECAR_* variables it does not know, and would take PG* as fallbacks
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_") || k.startsWith("PG")
        || k.startsWith("AZURE_") || k.startsWith("IDENTITY_") || k.startsWith("MSI_"));
    pb.environment().putAll(env);
    return pb;
  }

  /** Starts the agent and waits until it answers /healthz on its socket. */
  AgentProcess start() throws IOException, InterruptedException {
    Files.deleteIfExists(socket); // a SIGKILLed agent leaves its socket file behind
    Files.writeString(log, "--- agent start ---\n", StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    process = cli(config, log, jvmOptions, environment, "agent").start();
    Waits.until(Duration.ofSeconds(60), Duration.ofMillis(50), () -> {
      if (!process.isAlive()) {
        throw new AssertionError("the agent exited with " + process.exitValue() + "\n" + logTail());
      }
      return answers();
    }, () -> "the agent did not answer on " + socket + " within 60 s\n" + logTail());
    // PostgreSQL's archive_command runs as postgres; in a pod both share one uid
    Files.setOwner(socket, socket.getFileSystem().getUserPrincipalLookupService()
        .lookupPrincipalByName("postgres"));
    return this;
  }

  private boolean answers() {
    if (!Files.exists(socket)) {
      return false;
    }
    try (var r = AgentConnection.unixSocket(socket).request("GET", "/healthz", Map.of(), null)) {
      return r.status() == 200;
    } catch (IOException notYet) {
      return false;
    }
  }

  /** SIGKILL: no shutdown hook, no grace, nothing flushed. */
  void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        throw new AssertionError("the agent (pid " + process.pid() + ") survived SIGKILL for 30 s");
      }
      process = null;
    }
  }

  boolean alive() {
    return process != null && process.isAlive();
  }

  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return "--- agent log (" + log + ") ---\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(agent log unreadable: " + e + ")";
    }
  }

  String log() throws IOException {
    return Files.readString(log, StandardCharsets.UTF_8);
  }

  /** SIGTERM, then SIGKILL after 30 s. */
  @Override
  public void close() {
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    process = null;
  }
}
