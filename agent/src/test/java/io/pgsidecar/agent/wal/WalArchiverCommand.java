package io.pgsidecar.agent.wal;

import io.pgsidecar.walarchiver.WalArchiver;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real wal-archiver client as PostgreSQL runs it: a JVM of its own started from the
 * wal-archiver module's classes (its {@code target/classes} or jar, whichever the reactor put
 * on this test's class path, so it works in an IDE, in {@code -pl agent -am verify} and in
 * {@code scripts/test.sh}). The same launch flags as {@code bin/wal-archiver}; the agent is
 * asked to answer within {@code --wait 2} seconds so that a stopped agent fails fast.
 */
final class WalArchiverCommand {

  /** What one direct invocation returned. */
  record Result(int exitCode, String stderr) {}

  private final Path socket;

  WalArchiverCommand(Path socket) {
    this.socket = socket;
  }

  /** {@code archive_command}: {@code <java> ... WalArchiver --socket S --wait 2 push %p}. */
  String archiveCommand() {
    return String.join(" ", words()) + " push %p";
  }

  /** {@code restore_command}: {@code ... fetch %f %p}. */
  String restoreCommand() {
    return String.join(" ", words()) + " fetch %f %p";
  }

  /** Runs {@code wal-archiver <args>} in {@code workDir} (PGDATA for a push) as this user. */
  Result run(Path workDir, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(words());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(workDir.toFile())
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    byte[] err = p.getErrorStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("wal-archiver " + String.join(" ", args) + " did not exit within 120 s");
    }
    return new Result(p.exitValue(), new String(err, StandardCharsets.UTF_8));
  }

  private List<String> words() {
    return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", classPath(),
        WalArchiver.class.getName(), "--socket", socket.toString(), "--wait", "2");
  }

  private static String classPath() {
    try {
      return Path.of(WalArchiver.class.getProtectionDomain().getCodeSource().getLocation().toURI())
          .toString();
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot locate the wal-archiver classes", e);
    }
  }
}
