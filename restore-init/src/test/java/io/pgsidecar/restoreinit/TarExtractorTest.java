package io.pgsidecar.restoreinit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarExtractorTest {

  @TempDir Path tmp;

  private TarExtractor.Result extract(Path target, byte[] tar) throws IOException {
    Files.createDirectories(target);
    return new TarExtractor(target, "base/x/data.tar.zst").extract(new ByteArrayInputStream(tar));
  }

  @Test
  void unpacksFilesAndDirectoriesWithPostgresModes() throws IOException {
    Path pgdata = tmp.resolve("pgdata");
    var r = extract(pgdata, new TarBuilder().file("PG_VERSION", "15\n").dir("base")
        .file("base/1/1259", "x".repeat(1000)).file("global/pg_control", "c").end());
    assertEquals(3, r.files());
    assertEquals(3 + 1000 + 1, r.bytes());
    assertEquals("15\n", Files.readString(pgdata.resolve("PG_VERSION")));
    assertEquals("rw-------", PosixFilePermissions.toString(
        Files.getPosixFilePermissions(pgdata.resolve("base/1/1259"))));
    assertEquals("rwx------", PosixFilePermissions.toString(
        Files.getPosixFilePermissions(pgdata.resolve("base/1"))));
  }

  @Test
  void longNamesFromPaxHeadersAreHonoured() throws IOException {
    String longName = "base/16384/" + "a".repeat(120);
    Path pgdata = tmp.resolve("pgdata");
    extract(pgdata, new TarBuilder().paxPath(longName).file("ignored", "data").end());
    assertEquals("data", Files.readString(pgdata.resolve(longName)));
  }

  @Test
  void entryWithDotDotIsRefusedAndNothingLandsOutside() {
    Path pgdata = tmp.resolve("pgdata");
    var e = assertThrows(IOException.class, () -> extract(pgdata,
        new TarBuilder().file("../evil", "x").end()));
    assertEquals("archive base/x/data.tar.zst: entry name '../evil' contains '..'; refusing to unpack it",
        e.getMessage());
    assertFalse(Files.exists(tmp.resolve("evil")));
  }

  @Test
  void absoluteEntryIsRefused() {
    var e = assertThrows(IOException.class, () -> extract(tmp.resolve("d"),
        new TarBuilder().file("/etc/evil", "x").end()));
    assertEquals("archive base/x/data.tar.zst: entry name '/etc/evil' is absolute or empty;"
        + " refusing to unpack it", e.getMessage());
  }

  @Test
  void symlinkPointingOutsideIsRefused() {
    var e = assertThrows(IOException.class, () -> extract(tmp.resolve("d"),
        new TarBuilder().symlink("pg_tblspc/16385", "/srv/tablespace").end()));
    assertEquals("archive base/x/data.tar.zst: symlink 'pg_tblspc/16385' points to '/srv/tablespace',"
        + " outside the data directory; refusing (tablespaces are not supported yet)", e.getMessage());
  }

  @Test
  void entryBelowAnUnpackedSymlinkIsRefused() {
    Path d = tmp.resolve("d");
    var e = assertThrows(IOException.class, () -> extract(d,
        new TarBuilder().dir("inner").symlink("link", "inner").file("link/x", "y").end()));
    assertEquals("archive base/x/data.tar.zst: entry 'link/x' lies below the symlink 'link'; refusing",
        e.getMessage());
  }

  @Test
  void truncatedArchiveIsAnErrorNotAShortRestore() {
    byte[] whole = new TarBuilder().file("PG_VERSION", "15\n").file("big", "z".repeat(5000)).end();
    byte[] cut = java.util.Arrays.copyOf(whole, 512 + 512 + 512 + 1000);
    var e = assertThrows(IOException.class, () -> extract(tmp.resolve("d"), cut));
    assertEquals("archive base/x/data.tar.zst ends inside 'big' (1000 of 5000 bytes):"
        + " the stored backup is truncated", e.getMessage());
    byte[] noEnd = new TarBuilder().file("PG_VERSION", "15\n").truncated();
    var e2 = assertThrows(IOException.class, () -> extract(tmp.resolve("d2"), noEnd));
    assertTrue(e2.getMessage().contains("ends before its end-of-archive marker"), e2.getMessage());
  }

  @Test
  void corruptHeaderIsDetected() {
    byte[] tar = new TarBuilder().file("PG_VERSION", "15\n").end();
    tar[10] ^= 0x20;
    var e = assertThrows(IOException.class, () -> extract(tmp.resolve("d"), tar));
    assertEquals("archive base/x/data.tar.zst: a tar header checksum does not match;"
        + " the stored backup is corrupt; pick another backup", e.getMessage());
  }
}
