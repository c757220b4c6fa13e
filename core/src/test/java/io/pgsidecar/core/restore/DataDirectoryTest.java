package io.pgsidecar.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirectoryTest {

  @TempDir Path tmp;

  @Test
  void emptyOrMissingDirectoryIsPreparedWithTheMarker() throws IOException {
    var d = new DataDirectory(tmp.resolve("pgdata"));
    assertEquals(DataDirectory.State.EMPTY, d.state());
    d.prepare();
    assertEquals(DataDirectory.State.UNFINISHED_RESTORE, d.state());
    d.finish("15\n".getBytes());
    assertEquals(DataDirectory.State.HOLDS_SERVER, d.state());
    assertEquals("15\n", Files.readString(d.path().resolve("PG_VERSION")));
    assertFalse(Files.exists(d.path().resolve(DataDirectory.MARKER)));
  }

  @Test
  void aMarkerBesidePgVersionNeverWipesTheDirectory() throws IOException {
    Path p = Files.createDirectories(tmp.resolve("pgdata/base/1"));
    Files.writeString(p.resolve("1259"), "live data");
    Path pgdata = p.getParent().getParent();
    Files.writeString(pgdata.resolve("PG_VERSION"), "15\n");
    // a marker of ours beside PG_VERSION: the restore finished, only the marker's removal was lost
    Files.writeString(pgdata.resolve(DataDirectory.MARKER), DataDirectory.MARKER_TEXT);
    var d = new DataDirectory(pgdata);
    assertEquals(DataDirectory.State.HOLDS_SERVER, d.state());
    var e = assertThrows(IOException.class, d::prepare);
    assertEquals("data directory " + pgdata + " already holds a PostgreSQL server (PG_VERSION"
        + " exists); not restoring over it", e.getMessage());
    assertEquals("live data", Files.readString(p.resolve("1259")));
    // an older pgsidecar's marker (PG_VERSION written as it came): cannot tell, touch nothing
    Files.writeString(pgdata.resolve(DataDirectory.MARKER), "restore started\n");
    assertEquals(DataDirectory.State.UNCLEAR, d.state());
    var e2 = assertThrows(IOException.class, d::prepare);
    assertEquals(d.unclearReason(), e2.getMessage());
    assertTrue(e2.getMessage().startsWith("data directory " + pgdata + " holds PG_VERSION beside"
        + " the restore marker .pgsidecar-restore-in-progress of an older pgsidecar"), e2.getMessage());
    assertEquals("live data", Files.readString(p.resolve("1259")));
    assertEquals("15\n", Files.readString(pgdata.resolve("PG_VERSION")));
  }

  @Test
  void anOldMarkerWithoutPgVersionIsAnUnfinishedRestoreOfOurs() throws IOException {
    Path pgdata = Files.createDirectories(tmp.resolve("pgdata/base"));
    Files.writeString(pgdata.getParent().resolve(DataDirectory.MARKER), "restore started\n");
    var d = new DataDirectory(pgdata.getParent());
    assertEquals(DataDirectory.State.UNFINISHED_RESTORE, d.state());
    d.prepare();
    assertFalse(Files.exists(pgdata));
    assertEquals(DataDirectory.MARKER_TEXT, Files.readString(d.path().resolve(DataDirectory.MARKER)));
  }

  @Test
  void unfinishedRestoreIsClearedAndStartedOver() throws IOException {
    var d = new DataDirectory(tmp.resolve("pgdata"));
    d.prepare();
    Files.createDirectories(d.path().resolve("base/1"));
    Files.writeString(d.path().resolve("base/1/1259"), "half");
    Files.createDirectories(d.path().resolve("lost+found"));
    d.prepare();
    assertFalse(Files.exists(d.path().resolve("base")));
    assertTrue(Files.exists(d.path().resolve("lost+found")));
    assertTrue(Files.exists(d.path().resolve(DataDirectory.MARKER)));
  }

  @Test
  void directoryHoldingAServerIsLeftAlone() throws IOException {
    Path p = Files.createDirectories(tmp.resolve("pgdata"));
    Files.writeString(p.resolve("PG_VERSION"), "15\n");
    var d = new DataDirectory(p);
    assertEquals(DataDirectory.State.HOLDS_SERVER, d.state());
    var e = assertThrows(IOException.class, d::prepare);
    assertEquals("data directory " + p + " already holds a PostgreSQL server (PG_VERSION exists);"
        + " not restoring over it", e.getMessage());
    assertTrue(Files.exists(p.resolve("PG_VERSION")));
  }

  @Test
  void foreignNonEmptyDirectoryIsNeverDeleted() throws IOException {
    Path p = Files.createDirectories(tmp.resolve("pgdata"));
    Files.writeString(p.resolve("notes.txt"), "mine");
    var d = new DataDirectory(p);
    assertEquals(DataDirectory.State.FOREIGN, d.state());
    var e = assertThrows(IOException.class, d::prepare);
    assertTrue(e.getMessage().startsWith("data directory " + p + " is not empty and holds no restore"
        + " marker of ours; refusing to touch it."), e.getMessage());
    assertEquals("mine", Files.readString(p.resolve("notes.txt")));
  }

  @Test
  void lostAndFoundAloneCountsAsEmpty() throws IOException {
    Path p = Files.createDirectories(tmp.resolve("pgdata/lost+found"));
    assertEquals(DataDirectory.State.EMPTY, new DataDirectory(p.getParent()).state());
  }
}
