package io.pgsidecar.testkit;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;

/**
 * A server a fixture runs as a child process (Azurite, S3Mock, s3proxy): started with its output
 * appended to a log file, killed by a shutdown hook if the test JVM dies without stopping it,
 * awaited until it answers (at once an error with the log's tail when it exits first), and
 * stopped with SIGTERM, then SIGKILL after a grace period. One instance per start.
 */
final class ServerProcess {

  private final String name;
  private final Process process;
  private final Thread shutdownHook;
  private final Path log;

  private ServerProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.shutdownHook = new Thread(process::destroyForcibly, name + "-stop");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /**
   * Starts {@code command} with its output appended to {@code log} and waits until
   * {@code answers} holds; on failure the process is stopped and the error names {@code name},
   * {@code port} and the log with its last {@code tailLines} lines.
   */
  static ServerProcess start(String name, List<String> command, Path log, int port,
      Duration timeout, Callable<Boolean> answers, int tailLines) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    var server = new ServerProcess(name, p, log);
    try {
      Waits.until(timeout, Duration.ofMillis(50), answers, name + " exited", () -> !p.isAlive());
    } catch (TerminalFailureException e) {
      server.stop(Duration.ofSeconds(10));
      throw new IOException(name + " exited with " + p.exitValue() + " before listening on "
          + port + "; its output: " + log + "\n" + tail(log, tailLines), e);
    } catch (ConditionTimeoutException e) {
      server.stop(Duration.ofSeconds(10));
      throw new IOException(name + " did not listen on " + port + " within " + timeout
          + "; its output: " + log + "\n" + tail(log, tailLines), e);
    }
    return server;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** SIGTERM, SIGKILL after {@code grace}; the shutdown hook goes with it. */
  void stop(Duration grace) {
    process.destroy();
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException ignored) {
      // already shutting down: the hook does the same
    }
  }

  @Override
  public String toString() {
    return name + " (log " + log + ")";
  }

  /** A free TCP port of 127.0.0.1 (free when asked: the server binds it right after). */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** The last {@code lines} lines of {@code log}, or why there are none. */
  static String tail(Path log, int lines) {
    try {
      var all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no output: " + e.getMessage() + ")";
    }
  }

  /** Deletes {@code dir} and everything below it, as far as it can (temp data of a server). */
  static void deleteTree(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp directory left behind is not worth failing a test for
    }
  }
}
