package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/pgsidecar prepare-cache} with the real JDK and the agent jar the reactor just built:
 * the training run (agent.cli.Training) passes, the archive lands beside the jar, and a later
 * start uses it without a word on stderr (a user's terminal must never see class-data messages).
 * Here and not in the agent module: the jar exists only after the agent's package phase.
 */
class LauncherCacheTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  private record Run(int code, String out, String err) {}

  private static Run run(String... args) throws Exception {
    var command = new java.util.ArrayList<>(List.of(ROOT.resolve("bin/pgsidecar").toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("PGSIDECAR_"));
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Process p = pb.start();
    p.getOutputStream().close();
    var err = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (java.io.IOException e) {
        return e.toString();
      }
    });
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(180, TimeUnit.SECONDS), "bin/pgsidecar " + String.join(" ", args));
    return new Run(p.exitValue(), out, err.get());
  }

  @Test
  void prepareCacheMakesAnArchiveThatTheNextStartUsesSilently() throws Exception {
    Run made = run("prepare-cache");
    assertEquals(0, made.code(), made.toString());
    assertTrue(made.out().startsWith("class-data archive ready: " + ROOT.resolve("agent/target")
        + "/pgsidecar-agent.jdk"), made.out());
    Path archive = Path.of(made.out().substring("class-data archive ready: ".length()).strip());
    assertTrue(Files.size(archive) > 0, archive.toString());

    Run help = run("--help");
    assertEquals(0, help.code(), help.toString());
    assertEquals("", help.err());
    assertTrue(help.out().startsWith("Usage: pgsidecar"), help.out());
  }
}
