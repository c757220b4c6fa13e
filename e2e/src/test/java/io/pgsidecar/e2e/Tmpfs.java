package io.pgsidecar.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A small tmpfs mounted on a directory, to play a full disk (the tests run as root). Mounted in
 * the test's own mount namespace so that the agent, PostgreSQL and wal-archiver, which are
 * other processes, all see it; {@link #close()} unmounts it (lazily, should a process still hold
 * a file there).
 */
final class Tmpfs implements AutoCloseable {

  final Path dir;

  private Tmpfs(Path dir) {
    this.dir = dir;
  }

  static Tmpfs mount(Path dir, int megabytes) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    run("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m,mode=0755", "tmpfs", dir.toString());
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return new Tmpfs(dir);
  }

  /** Grows (or shrinks) the file system in place: the space comes back. */
  void resize(int megabytes) throws IOException, InterruptedException {
    run("mount", "-o", "remount,size=" + megabytes + "m", dir.toString());
  }

  @Override
  public void close() throws IOException, InterruptedException {
    run("umount", "-l", dir.toString());
  }

  private static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", List.of(cmd)) + " failed (the fault suite runs as"
          + " root to mount a small tmpfs): " + out);
    }
  }
}
