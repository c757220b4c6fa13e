package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.restore.RestoreJob;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.Waits;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13 item 2: a restore_command that cannot tell must stop recovery, never end it. One base
 * backup is restored once; each case starts PostgreSQL on a copy of it with restore_command run
 * through the real bin/wal-archiver (installed under a path with a space, a quote and a %) failing
 * one way: the agent is not running, its storage is down, restore_command was written without
 * %p, the JVM is missing (curl off). PostgreSQL must log the failed restore as FATAL (exit code
 * 255) and never select a new timeline, write a timeline history file or accept connections.
 * (A 404 that is not the agent's "not in the archive" is covered by LauncherTest and
 * WalArchiverTest.)
 */
class RecoveryNeverEndsEarlyTest {

  private static final String FATAL_RESTORE = "FATAL:  could not restore file";

  @TempDir Path dir;

  @Test
  void eachWayTheFetchCannotTellStopsRecoveryInsteadOfPromoting() throws Exception {
    InstalledLauncher wa = InstalledLauncher.install(dir.resolve("opt"));
    Switchable storage = new Switchable(new FsStorage(Files.createDirectories(dir.resolve("repo"))));
    try (Pod pod = new Pod(dir.resolve("pod"), "db1", storage, Pipelines.zstd(1)).startNew()) {
      PostgresCluster pg = pod.server;
      pg.sql("CREATE TABLE t (id int)");
      pod.backup("base");
      pg.sql("INSERT INTO t SELECT generate_series(1, 100)");
      pod.archiveCurrentSegment();
      PgsidecarConfig.Restore restore = pod.restore(Optional.empty(), Optional.empty(),
          Optional.empty(), Optional.empty(), false, Optional.empty());
      Path template = PostgresCluster.emptyDataDirectory();
      RestoreJob.run(pod.config, restore, template, storage, pod.pipeline);

      String socket = " --socket \"" + pod.socket + "\"";
      List<String[]> cases = List.of(
          new String[] {"agent not running",
              wa.conf("fetch \"%f\" \"%p\" --wait 1 --socket \"" + dir.resolve("no-agent.sock") + "\"")},
          new String[] {"storage down", wa.conf("fetch \"%f\" \"%p\" --wait 1" + socket)},
          new String[] {"restore_command without %p", wa.conf("fetch \"%f\"" + socket)},
          new String[] {"no JVM, curl off", "PGSIDECAR_JAVA=/nonexistent/bin/java"
              + " PGSIDECAR_WAL_ARCHIVER_CURL=off " + wa.conf("fetch \"%f\" \"%p\"" + socket)});
      for (String[] c : cases) {
        storage.down = c[0].equals("storage down");
        Path copy = PostgresCluster.emptyDataDirectory();
        Pod.deleteTree(copy);
        assertTrue(new ProcessBuilder("cp", "-a", template.toString(), copy.toString()).start().waitFor() == 0);
        Path auto = copy.resolve("postgresql.auto.conf");
        List<String> lines = Files.readAllLines(auto).stream()
            .filter(l -> !l.startsWith("restore_command")).collect(Collectors.toList());
        lines.add(InstalledLauncher.confLine("restore_command", c[1]));
        Files.write(auto, lines);
        String log;
        boolean started;
        try (PostgresCluster restored = PostgresCluster.fromExistingDataDir(copy)
            .setting("archive_mode", "off").build()) {
          try {
            restored.start();
            started = true;
            Waits.holdsWithin(Duration.ofSeconds(60), Duration.ofMillis(100),
                () -> restored.logTail(400).contains(FATAL_RESTORE)); // the log is asserted on
            log = restored.logTail(400);
          } catch (IllegalStateException startupFailed) {
            // pg_ctl never saw it accept connections; its message carries the server log tail
            // (a failed start removes the log with the cluster's temp directory)
            started = false;
            log = startupFailed.getMessage();
          }
        }
        assertFalse(started, c[0] + ": PostgreSQL accepted connections:\n" + log);
        assertTrue(log.contains(FATAL_RESTORE), c[0] + ":\n" + log);
        assertTrue(log.contains("exit code 255"), c[0] + ":\n" + log);
        assertFalse(log.contains("selected new timeline ID"), c[0] + ":\n" + log);
        assertFalse(log.contains("archive recovery complete"), c[0] + ":\n" + log);
        assertFalse(log.contains("database system is ready to accept connections"), c[0] + ":\n" + log);
        try (var files = Files.list(copy.resolve("pg_wal"))) {
          assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".history")),
              c[0] + ": a new timeline's history file appeared");
        }
        Pod.deleteTree(copy);
      }
      storage.down = false;

      // The control: the same launcher (odd path, curl on, prefetch spool written by the agent as
      // root, fetched by PostgreSQL as postgres) restores and promotes, and every file PostgreSQL
      // kept in pg_wal is its own (a hand-off of a root-owned spool file is declined).
      Path good = PostgresCluster.emptyDataDirectory();
      Pod.deleteTree(good);
      assertTrue(new ProcessBuilder("cp", "-a", template.toString(), good.toString()).start().waitFor() == 0);
      Path auto = good.resolve("postgresql.auto.conf");
      List<String> lines = Files.readAllLines(auto).stream()
          .filter(l -> !l.startsWith("restore_command")).collect(Collectors.toList());
      lines.add(InstalledLauncher.confLine("restore_command", wa.conf("fetch \"%f\" \"%p\"" + socket)));
      Files.write(auto, lines);
      try (PostgresCluster restored = PostgresCluster.fromExistingDataDir(good)
          .setting("archive_mode", "off").deleteDataDirOnClose().build()) {
        restored.start();
        Pod.awaitPromoted(restored, java.time.Duration.ofSeconds(120));
        assertEquals("100", restored.sql("SELECT count(*) FROM t"));
        try (var files = Files.list(good.resolve("pg_wal"))) {
          for (Path f : files.filter(Files::isRegularFile).toList()) {
            assertEquals("postgres", Files.getOwner(f).getName(), f.toString());
          }
        }
      }
      Pod.deleteTree(template);
    }
  }

  /** The pod's storage, or (while {@code down}) one that fails every call as a dead endpoint does. */
  static final class Switchable implements Storage {
    final Storage inner;
    volatile boolean down;

    Switchable(Storage inner) {
      this.inner = inner;
    }

    private void check() throws IOException {
      if (down) {
        throw new IOException("connection refused: storage endpoint is down (test)");
      }
    }

    @Override
    public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
        throws IOException {
      check();
      return inner.create(key, content, metadata);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
      check();
      return inner.stat(key);
    }

    @Override
    public Optional<InputStream> open(String key) throws IOException {
      check();
      return inner.open(key);
    }

    @Override
    public Stream<ObjectInfo> list(String prefix) throws IOException {
      check();
      return inner.list(prefix);
    }

    @Override
    public boolean delete(String key) throws IOException {
      check();
      return inner.delete(key);
    }

    @Override
    public void probe() throws IOException {
      check();
      inner.probe();
    }

    @Override
    public String describe() {
      return inner.describe();
    }
  }
}
