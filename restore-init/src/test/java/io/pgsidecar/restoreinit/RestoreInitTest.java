package io.pgsidecar.restoreinit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.restore.DataDirectory;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RestoreInitTest {

  @TempDir Path dir;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... kv) {
    Map<String, String> env = new java.util.HashMap<>(Map.of("PGSIDECAR_CLUSTER", "db1",
        "PGSIDECAR_STORAGE_PATH", dir.resolve("repo").toString(),
        "PGSIDECAR_PGDATA", dir.resolve("pgdata").toString()));
    for (int i = 0; i < kv.length; i += 2) {
      env.put(kv[i], kv[i + 1]);
    }
    return RestoreInit.run(new String[0], env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void withoutRestoreEnabledItDoesNothingAndSucceeds() {
    assertEquals(0, run());
    assertEquals("restore-init: restore not requested (restore.enabled is false); nothing to do\n", out());
    assertTrue(Files.notExists(dir.resolve("pgdata")));
  }

  @Test
  void aDataDirectoryHoldingAServerIsLeftAlone() throws Exception {
    Files.createDirectories(dir.resolve("pgdata"));
    Files.writeString(dir.resolve("pgdata/PG_VERSION"), "15\n");
    assertEquals(0, run("PGSIDECAR_RESTORE_ENABLED", "true"));
    assertEquals("restore-init: " + dir.resolve("pgdata") + " already holds a PostgreSQL server"
        + " (PG_VERSION exists); not restoring over it, nothing to do\n", out());
    assertEquals(List.of(dir.resolve("pgdata/PG_VERSION")), Files.list(dir.resolve("pgdata")).toList());
  }

  @Test
  void aForeignNonEmptyDirectoryIsRefusedAndKept() throws Exception {
    Files.createDirectories(dir.resolve("pgdata"));
    Files.writeString(dir.resolve("pgdata/notes.txt"), "mine");
    assertEquals(1, run("PGSIDECAR_RESTORE_ENABLED", "true"));
    assertEquals("restore-init: data directory " + dir.resolve("pgdata") + " is not empty and"
        + " holds no restore marker of ours; refusing to touch it. Point pgdata at an empty"
        + " directory, or empty it yourself if it is disposable\n", err());
    assertEquals("mine", Files.readString(dir.resolve("pgdata/notes.txt")));
  }

  @Test
  void anEmptyArchiveFailsTheRestoreWithoutWritingAnything() throws Exception {
    Files.createDirectories(dir.resolve("repo"));
    assertEquals(1, run("PGSIDECAR_RESTORE_ENABLED", "true"));
    assertEquals("restore-init: restore failed: no complete base backup in file://" + dir.resolve("repo")
        + "/db1/: take one (pgsidecar backup create), or restore another cluster's archive"
        + " (--from-cluster)\n", err());
    assertTrue(Files.notExists(dir.resolve("pgdata")));
  }

  @Test
  void aConfigurationErrorExitsWithTwo() {
    assertEquals(2, run("PGSIDECAR_RESTORE_ENABLED", "true", "PGSIDECAR_RESTORE_TARGET_XID", "1",
        "PGSIDECAR_RESTORE_TARGET_NAME", "x"));
    assertTrue(err().contains("restore.target-xid and restore.target-name are both set"), err());
  }

  /** A server's data directory (PG_VERSION and data) with an unfinished-restore marker beside. */
  private Map<String, String> serverWithMarker(String marker) throws Exception {
    Path pgdata = Files.createDirectories(dir.resolve("pgdata/base/1")).getParent().getParent();
    Files.writeString(pgdata.resolve("PG_VERSION"), "15\n");
    Files.writeString(pgdata.resolve("base/1/1259"), "live rows");
    Files.writeString(pgdata.resolve(DataDirectory.MARKER), marker);
    return Map.of("PG_VERSION", "15\n", "base/1/1259", "live rows");
  }

  private void assertKept(Map<String, String> files) throws Exception {
    for (var f : files.entrySet()) {
      assertEquals(f.getValue(), Files.readString(dir.resolve("pgdata").resolve(f.getKey())), f.getKey());
    }
  }

  @Test
  void aServerBesideOurMarkerIsNeverWipedOnlyTheStaleMarkerGoes() throws Exception {
    Map<String, String> files = serverWithMarker(DataDirectory.MARKER_TEXT);
    assertEquals(0, run("PGSIDECAR_RESTORE_ENABLED", "true"));
    assertEquals("restore-init: " + dir.resolve("pgdata") + " already holds a PostgreSQL server"
        + " (PG_VERSION exists); not restoring over it, nothing to do\n", out());
    assertKept(files);
    assertTrue(Files.notExists(dir.resolve("pgdata").resolve(DataDirectory.MARKER)));
  }

  @Test
  void aServerBesideAnOlderMarkerIsNeitherWipedNorStarted() throws Exception {
    Map<String, String> files = serverWithMarker("restore started\n");
    assertEquals(1, run("PGSIDECAR_RESTORE_ENABLED", "true"));
    assertEquals("restore-init: data directory " + dir.resolve("pgdata") + " holds PG_VERSION"
        + " beside the restore marker .pgsidecar-restore-in-progress of an older pgsidecar, which"
        + " wrote PG_VERSION before the restore ended: it cannot tell whether that restore"
        + " finished. Neither wiping nor starting it; if the server there is good, delete the"
        + " marker, else empty the directory\n", err());
    assertKept(files);
    assertTrue(Files.exists(dir.resolve("pgdata").resolve(DataDirectory.MARKER)));
  }
}
