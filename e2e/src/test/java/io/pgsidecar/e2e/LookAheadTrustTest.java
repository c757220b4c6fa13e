package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.Waits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report of issue 13 item 1, replayed: while PostgreSQL archives its own segments through
 * the real bin/wal-archiver, someone who can write into pg_wal plants files with {@code .ready}
 * entries: a symbolic link to a file outside PGDATA, a link to {@code /proc/self/environ}, a
 * directory and a FIFO, under segment names after the server's own (so that PostgreSQL's archiver
 * reaches its own segments first). The look-ahead sees them at the next push. None may ever be
 * read: nothing of theirs is in the archive, {@code wal-archiver fetch} answers "not in the
 * archive", and the agent logs each refusal (and counts it: WalPushTest checks the events).
 */
class LookAheadTrustTest {

  @TempDir Path dir;

  @Test
  void plantedLinksDirectoriesAndFifosAreNeverArchived() throws Exception {
    InstalledLauncher wa = InstalledLauncher.install(dir.resolve("opt"));
    FsStorage storage = new FsStorage(Files.createDirectories(dir.resolve("repo")));
    try (Pod pod = new Pod(dir.resolve("pod"), "db1", storage, Pipelines.zstd(1))) {
      pod.server = pod.withPodSettings(PostgresCluster.builder().dataDir(pod.pgdata))
          .setting("archive_command", wa.conf("push \"%p\" --socket \"" + pod.socket + "\""))
          .build();
      pod.server.start();
      pod.startAgent();
      PostgresCluster pg = pod.server;
      List<String> refusals = new java.util.concurrent.CopyOnWriteArrayList<>();
      Logger lookAheadLog = Logger.getLogger("io.pgsidecar.agent.wal.push.LookAhead");
      Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
          refusals.add(r.getMessage());
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };
      lookAheadLog.addHandler(capture);
      pg.sql("CREATE TABLE t (id int)");
      pod.archiveCurrentSegment();

      Path secret = Files.writeString(dir.resolve("secret.key"), "-----BEGIN PRIVATE KEY----- hunter2\n");
      Path wal = pod.pgdata.resolve("pg_wal");
      String link = "0000000100000000000000F0";
      String environ = "0000000100000000000000F1";
      String directory = "0000000100000000000000F2";
      String fifo = "0000000100000000000000F3";
      Files.createSymbolicLink(wal.resolve(link), secret);
      Files.createSymbolicLink(wal.resolve(environ), Path.of("/proc/self/environ"));
      Files.createDirectory(wal.resolve(directory));
      assertEquals(0, new ProcessBuilder("mkfifo", wal.resolve(fifo).toString()).start().waitFor());
      List<String> planted = List.of(link, environ, directory, fifo);
      for (String n : planted) {
        Files.createFile(wal.resolve("archive_status/" + n + ".ready"));
      }

      // PostgreSQL goes on archiving its own segments; each push starts a look-ahead scan
      pg.sql("INSERT INTO t SELECT generate_series(1, 1000)");
      String own = pod.archiveCurrentSegment();
      assertTrue(pod.stored(own), own);
      Waits.holdsWithin(Duration.ofSeconds(60), Duration.ofMillis(100),
          () -> planted.stream().allMatch(n -> refusedIn(refusals, n))); // asserted below
      for (String n : planted) {
        assertFalse(pod.stored(n), n + " was archived");
      }
      for (String n : planted) {
        assertTrue(refusedIn(refusals, n), n + " not refused in the agent's log: " + refusals);
        assertFalse(pod.stored(n), n + " was archived");
        InstalledLauncher.Result fetch = wa.run("fetch", n, dir.resolve("fetched-" + n).toString(),
            "--socket", pod.socket.toString());
        assertEquals(1, fetch.exit(), fetch.stderr());
        assertEquals("wal-archiver: fetch: " + n + " is not in the archive\n", fetch.stderr());
        assertFalse(Files.exists(dir.resolve("fetched-" + n)));
      }
      try (var keys = storage.list(pod.layout().walRoot())) {
        assertTrue(keys.noneMatch(o -> o.key().contains("000000F")), "planted names in the archive");
      } finally {
        lookAheadLog.removeHandler(capture);
      }
    }
  }

  private static boolean refusedIn(List<String> log, String name) {
    return log.stream().anyMatch(m -> m.startsWith("look-ahead: ") && m.contains("refusing to archive")
        && m.contains("/pg_wal/" + name + ": it is "));
  }
}
