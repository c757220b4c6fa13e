package io.pgsidecar.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresClusterTest {

  @RegisterExtension
  final PostgresCluster pg = PostgresCluster.builder()
      .setting("wal_level", "replica")
      .setting("cluster_name", "it's quoted")
      .environment("PGSIDECAR_TESTKIT_PROBE", "from-the-builder")
      .build();

  @Test
  void committedRowsSurviveACrashAndRestart() {
    pg.sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
    pg.sql("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g");
    assertEquals(1000, pg.sqlLong("SELECT count(*) FROM t"));

    pg.crash();
    assertFalse(pg.isRunning());
    pg.start();

    assertEquals(1000, pg.sqlLong("SELECT count(*) FROM t"));
    assertEquals("row 42", pg.sql("SELECT v FROM t WHERE id = 42"));
    assertTrue(pg.logTail(200).contains("database system was interrupted"),
        "crash recovery should show in the log:\n" + pg.logTail(200));
  }

  /** SIGKILL of the postmaster: it and every child are gone when the call returns. */
  @Test
  void killPostmasterReturnsOnceTheServerAndItsChildrenAreGone() throws Exception {
    long pid = Long.parseLong(Files.readAllLines(pg.pgdata().resolve("postmaster.pid")).get(0).strip());
    List<ProcessHandle> children = ProcessHandle.of(pid).orElseThrow().children().toList();
    assertFalse(children.isEmpty(), "a running server has children (checkpointer, walwriter, ...)");
    pg.killPostmaster();
    assertFalse(pg.isRunning());
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    assertTrue(children.stream().noneMatch(ProcessHandle::isAlive), children.toString());
    pg.start();
    assertEquals(1, pg.sqlLong("SELECT 1"));
  }

  @Test
  void settingsFromTheBuilderReachTheServer() {
    assertEquals("it's quoted", pg.sql("SHOW cluster_name"));
    assertEquals(Integer.toString(pg.port()), pg.sql("SHOW port"));
    assertEquals(pg.socketDir().toString(), pg.sql("SHOW unix_socket_directories"));
  }

  @Test
  void psqlAndPgbenchRunAsPostgresAgainstThisServer() {
    assertEquals("postgres", pg.psql("-c", "SELECT current_user").strip());
    pg.pgbench("-i", "-s", "1", "-q");
    assertEquals(100000, pg.sqlLong("SELECT count(*) FROM pgbench_accounts"));
    CommandResult env = pg.runAsPostgres(List.of("sh", "-c", "id -un; echo $PGSIDECAR_TESTKIT_PROBE"));
    assertEquals(0, env.exitCode());
    assertEquals("postgres\nfrom-the-builder", env.output().strip());
  }

  @Test
  void switchWalNamesTheSegmentItClosed() {
    pg.sql("CREATE TABLE w AS SELECT 1 AS x");
    String closed = pg.switchWal();
    assertEquals(24, closed.length(), closed);
    String current = pg.sql("SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
    assertTrue(current.compareTo(closed) > 0, current + " should follow " + closed);
  }

  @Test
  void aServerStartsOnADataDirectoryFilledByAnotherComponent() throws Exception {
    pg.sql("CREATE TABLE kept AS SELECT generate_series(1, 10) AS x");
    pg.stop();
    Path restored = PostgresCluster.emptyDataDirectory();
    // Copy as root would: files owned by the copier, loose modes; the fixture fixes both.
    try (var files = Files.walk(pg.pgdata())) {
      for (Path src : files.toList()) {
        Path dst = restored.resolve(pg.pgdata().relativize(src).toString());
        if (Files.isDirectory(src)) {
          Files.createDirectories(dst);
        } else {
          Files.copy(src, dst);
        }
      }
    }
    Files.delete(restored.resolve("postmaster.opts"));
    Files.setPosixFilePermissions(restored, PosixFilePermissions.fromString("rwxr-xr-x"));

    try (PostgresCluster other = PostgresCluster.fromExistingDataDir(restored)
        .deleteDataDirOnClose().build().start()) {
      assertEquals(10, other.sqlLong("SELECT count(*) FROM kept"));
      assertTrue(other.port() != pg.port() || !pg.isRunning());
    }
    assertFalse(Files.exists(restored), "deleteDataDirOnClose should remove " + restored);
  }

  @Test
  void closeStopsTheServerAndDeletesItsDirectories() {
    PostgresCluster own = PostgresCluster.builder().allowGroupAccess().build().start();
    Path data = own.pgdata();
    try {
      assertEquals("0750", own.sql("SHOW data_directory_mode"));
    } finally {
      own.close();
    }
    assertFalse(Files.exists(data));
  }

  @Test
  void aFailedStartLeavesNothingBehind() throws Exception {
    Path missing = Path.of(System.getProperty("java.io.tmpdir"),
        "pgsidecar-no-such-dir-" + System.nanoTime());
    PostgresCluster broken = PostgresCluster.fromExistingDataDir(missing).build();
    IllegalStateException e = assertThrows(IllegalStateException.class, broken::start);
    assertEquals("data directory " + missing + " does not exist", e.getMessage());
    assertNull(broken.pgdata(), "the temp directory was deleted again");
  }
}
