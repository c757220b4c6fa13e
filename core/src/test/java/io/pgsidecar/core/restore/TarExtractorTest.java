package io.pgsidecar.core.restore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarExtractorTest {

  @TempDir Path tmp;

  /** A directory beside the target that no archive may touch; checked after every refusal. */
  private Path outside;
  private List<String> outsideBefore;
  private int refusals;

  @BeforeEach
  void outside() throws IOException {
    outside = Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(outside.resolve("passwd"), "root:x:0:0\n");
    outsideBefore = listing(tmp);
  }

  private TarExtractor.Result extract(Path target, byte[] tar) throws IOException {
    Files.createDirectories(target);
    return new TarExtractor(target, "base/x/data.tar.zst").extract(new ByteArrayInputStream(tar));
  }

  /** Every path under {@code dir} but the targets' own content, with the content of files. */
  private static List<String> listing(Path dir) throws IOException {
    List<String> all = new java.util.ArrayList<>();
    Files.walkFileTree(dir, new java.nio.file.SimpleFileVisitor<>() {
      @Override
      public java.nio.file.FileVisitResult preVisitDirectory(Path d,
          java.nio.file.attribute.BasicFileAttributes a) {
        if (d.equals(dir.resolve("pgdata"))) {
          return java.nio.file.FileVisitResult.SKIP_SUBTREE;
        }
        all.add(dir.relativize(d).toString());
        return java.nio.file.FileVisitResult.CONTINUE;
      }

      @Override
      public java.nio.file.FileVisitResult visitFile(Path f,
          java.nio.file.attribute.BasicFileAttributes a) throws IOException {
        all.add(dir.relativize(f) + (a.isRegularFile() ? "=" + Files.readString(f) : ""));
        return java.nio.file.FileVisitResult.CONTINUE;
      }
    });
    return all.stream().sorted().toList();
  }

  /** Extracting {@code tar} fails with exactly {@code message}, and nothing outside changed. */
  private void refused(byte[] tar, String message) throws IOException {
    Path pgdata = tmp.resolve("pgdata").resolve(Integer.toString(++refusals));
    var e = assertThrows(IOException.class, () -> extract(pgdata, tar));
    assertEquals("archive base/x/data.tar.zst: " + message, e.getMessage());
    assertEquals(outsideBefore, listing(tmp), "nothing outside the target changed");
    assertEquals("root:x:0:0\n", Files.readString(outside.resolve("passwd")));
  }

  @Test
  void unpacksFilesAndDirectoriesWithPostgresModes() throws IOException {
    Path pgdata = tmp.resolve("pgdata");
    var r = extract(pgdata, new TarBuilder().file("PG_VERSION", "15\n").dir("base")
        .file("base/1/1259", "x".repeat(1000)).file("global/pg_control", "c").end());
    assertEquals(3, r.files());
    assertEquals(3 + 1000 + 1, r.bytes());
    assertEquals("rw-------", PosixFilePermissions.toString(
        Files.getPosixFilePermissions(pgdata.resolve("base/1/1259"))));
    assertEquals("rwx------", PosixFilePermissions.toString(
        Files.getPosixFilePermissions(pgdata.resolve("base/1"))));
  }

  @Test
  void theTopLevelPgVersionIsHeldBackForTheRestoreToWriteLast() throws IOException {
    Path pgdata = tmp.resolve("pgdata");
    var r = extract(pgdata, new TarBuilder().file("PG_VERSION", "15\n")
        .file("base/1/PG_VERSION", "15\n").end());
    assertArrayEquals("15\n".getBytes(StandardCharsets.UTF_8), r.pgVersion());
    assertFalse(Files.exists(pgdata.resolve("PG_VERSION")), "written by the restore, last");
    assertEquals("15\n", Files.readString(pgdata.resolve("base/1/PG_VERSION")));
    assertNull(extract(tmp.resolve("pgdata/other"), new TarBuilder().file("a", "b").end()).pgVersion());
    refused(new TarBuilder().file("PG_VERSION", "15\n").file("./PG_VERSION", "16\n").end(),
        "entry './PG_VERSION' appears twice; refusing");
  }

  @Test
  void longNamesFromPaxHeadersAreHonoured() throws IOException {
    String longName = "base/16384/" + "a".repeat(120);
    Path pgdata = tmp.resolve("pgdata");
    extract(pgdata, new TarBuilder().paxPath(longName).file("ignored", "data").end());
    assertEquals("data", Files.readString(pgdata.resolve(longName)));
  }

  @Test
  void aRelativeSymlinkBelowItsOwnDirectoryIsKept() throws IOException {
    Path pgdata = tmp.resolve("pgdata");
    extract(pgdata, new TarBuilder().file("conf/real.conf", "x").symlink("conf/link.conf", "real.conf")
        .symlink("here", ".").end());
    assertEquals(Path.of("real.conf"), Files.readSymbolicLink(pgdata.resolve("conf/link.conf")));
    assertEquals("x", Files.readString(pgdata.resolve("conf/link.conf")));
  }

  @Test
  void entryWithDotDotIsRefusedAndNothingLandsOutside() throws IOException {
    refused(new TarBuilder().file("../evil", "x").end(),
        "entry name '../evil' contains '..'; refusing to unpack it");
    refused(new TarBuilder().file("base/../../outside/passwd", "x").end(),
        "entry name 'base/../../outside/passwd' contains '..'; refusing to unpack it");
  }

  @Test
  void absoluteEntryIsRefused() throws IOException {
    refused(new TarBuilder().file(outside.resolve("passwd").toString(), "x").end(),
        "entry name '" + outside.resolve("passwd") + "' is absolute or empty; refusing to unpack it");
  }

  @Test
  void symlinkPointingOutsideIsRefused() throws IOException {
    refused(new TarBuilder().symlink("pg_tblspc/16385", "/srv/tablespace").end(),
        "symlink 'pg_tblspc/16385' points to '/srv/tablespace', outside the data directory;"
        + " refusing (a pgsidecar backup holds no tablespace: pg_basebackup -D - refuses to write one)");
  }

  @Test
  void aSymlinkToAnOutsideDirectoryThenAFileThroughItIsRefusedAtTheLink() throws IOException {
    refused(new TarBuilder().symlink("x", outside.toString()).file("x/passwd", "owned").end(),
        "symlink 'x' points to '" + outside + "', outside the data directory; refusing"
        + " (a pgsidecar backup holds no tablespace: pg_basebackup -D - refuses to write one)");
  }

  @Test
  void chainedSymlinksCannotClimbOut() throws IOException {
    // a -> . is harmless alone; a/b -> .. would be "pgdata/.." through it
    refused(new TarBuilder().symlink("a", ".").symlink("a/b", "..").file("a/b/outside/passwd", "owned").end(),
        "entry 'a/b' lies below the symlink 'a'; refusing");
    // the lexical check of old: d/up -> .. resolved "inside", x -> d/up/.. then escaped
    refused(new TarBuilder().dir("d").symlink("d/up", "..").end(),
        "symlink 'd/up' points to '..', which climbs out of its directory with '..'; refusing"
        + " (a link in a restored data directory may only point below its own directory)");
    refused(new TarBuilder().symlink("y", "d/up/../..").dir("d").end(),
        "symlink 'y' points to 'd/up/../..', which climbs out of its directory with '..';"
        + " refusing (a link in a restored data directory may only point below its own directory)");
  }

  @Test
  void aDirectoryEntryOverAnEarlierSymlinkIsRefused() throws IOException {
    refused(new TarBuilder().dir("inner").symlink("link", "inner").dir("link").file("link/x", "y").end(),
        "entry 'link' needs the directory 'link', which an earlier entry made a symlink; refusing");
  }

  @Test
  void entryBelowAnUnpackedSymlinkIsRefused() throws IOException {
    refused(new TarBuilder().dir("inner").symlink("link", "inner").file("link/x", "y").end(),
        "entry 'link/x' lies below the symlink 'link'; refusing");
  }

  @Test
  void aFileOverAnEarlierSymlinkIsRefusedAndNotWrittenThroughIt() throws IOException {
    refused(new TarBuilder().file("global/pg_control", "c").symlink("pg_hba.conf", "global/pg_control")
        .file("pg_hba.conf", "host all all 0.0.0.0/0 trust").end(),
        "entry 'pg_hba.conf' exists already in the data directory (the archive holds that name"
        + " twice); refusing to replace it");
    assertEquals("c", Files.readString(tmp.resolve("pgdata/1/global/pg_control")));
  }

  @Test
  void hardLinksMayOnlyNameARegularFileAlreadyInTheTarget() throws IOException {
    refused(new TarBuilder().hardLink("h", outside.resolve("passwd").toString()).end(),
        "hard link 'h' points to '" + outside.resolve("passwd") + "', outside the data directory;"
        + " refusing");
    refused(new TarBuilder().hardLink("h", "../outside/passwd").end(),
        "hard link 'h' points to '../outside/passwd', outside the data directory; refusing");
    refused(new TarBuilder().symlink("x", "sub").hardLink("h", "x/passwd").end(),
        "hard link 'h' points to 'x/passwd', which is not a regular file unpacked in the data"
        + " directory; refusing");
    refused(new TarBuilder().file("f", "1").symlink("l", "f").hardLink("h", "l").end(),
        "hard link 'h' points to 'l', which is not a regular file unpacked in the data directory;"
        + " refusing");
    Path pgdata = tmp.resolve("ok");
    extract(pgdata, new TarBuilder().file("f", "1").hardLink("g", "f").end());
    assertEquals("1", Files.readString(pgdata.resolve("g")));
  }

  @Test
  void theFilesTheRestoreWritesItselfMustBeRegularFiles() throws IOException {
    refused(new TarBuilder().symlink("postgresql.auto.conf", "/etc/something").end(),
        "entry 'postgresql.auto.conf' is a symlink; a backup holds postgresql.auto.conf as a"
        + " regular file only, and the restore writes it itself; refusing");
    refused(new TarBuilder().file("global/pg_control", "c").symlink("recovery.signal", "global/pg_control").end(),
        "entry 'recovery.signal' is a symlink; a backup holds recovery.signal as a regular file"
        + " only, and the restore writes it itself; refusing");
    refused(new TarBuilder().dir("./standby.signal").end(),
        "entry './standby.signal' is a directory; a backup holds standby.signal as a regular"
        + " file only, and the restore writes it itself; refusing");
    refused(new TarBuilder().symlink("PG_VERSION", "base/1/PG_VERSION").end(),
        "entry 'PG_VERSION' is a symlink; a backup holds PG_VERSION as a regular file only, and"
        + " the restore writes it itself; refusing");
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
    assertEquals("archive base/x/data.tar.zst: the tar header at byte 0 (entry 'PG_VERSION ') does"
        + " not match its checksum; the stored backup is corrupt; pick another backup", e.getMessage());
  }

  @Test
  void anArchiveEndingInsideTheEndMarkerOrAHeaderSaysWhere() {
    byte[] whole = new TarBuilder().file("a", "b").end();
    var e = assertThrows(IOException.class, () -> extract(tmp.resolve("d"), Arrays.copyOf(whole, 1024)));
    assertEquals("archive base/x/data.tar.zst ends before its end-of-archive marker (after 1024"
        + " bytes): the stored backup is truncated; pick another backup", e.getMessage());
    var e2 = assertThrows(IOException.class, () -> extract(tmp.resolve("d2"), Arrays.copyOf(whole, 1030)));
    assertEquals("archive base/x/data.tar.zst ends inside the tar header at byte 1024 (6 of 512"
        + " bytes): the stored backup is truncated; pick another backup", e2.getMessage());
  }

  /** Regression: skipNBytes threw an EOFException without a message here. */
  @Test
  void anArchiveEndingInsideAFilesPaddingNamesTheFile() {
    byte[] whole = new TarBuilder().file("base/1/big", "z".repeat(1000)).end();
    var e = assertThrows(IOException.class,
        () -> extract(tmp.resolve("d"), Arrays.copyOf(whole, 512 + 1000 + 10)));
    assertEquals("archive base/x/data.tar.zst ends inside the padding after entry 'base/1/big'"
        + " (10 of 24 bytes): the stored backup is truncated", e.getMessage());
    byte[] version = new TarBuilder().file("PG_VERSION", "15\n").end();
    var e2 = assertThrows(IOException.class,
        () -> extract(tmp.resolve("d2"), Arrays.copyOf(version, 512 + 3 + 100)));
    assertEquals("archive base/x/data.tar.zst ends inside the padding after entry 'PG_VERSION'"
        + " (100 of 509 bytes): the stored backup is truncated", e2.getMessage());
  }

  /** Regression: the skipped global header ended in an EOFException without a message. */
  @Test
  void anArchiveEndingInsideASkippedGlobalHeaderNamesIt() {
    byte[] whole = new TarBuilder().pax('g', Map.of("comment", "c".repeat(700))).file("a", "b").end();
    for (int cut : new int[] {512 + 100, 512 + 800}) {
      var e = assertThrows(IOException.class, () -> extract(tmp.resolve("d" + cut), Arrays.copyOf(whole, cut)));
      assertEquals("archive base/x/data.tar.zst ends inside the global pax header"
          + " 'pax_global_header' at byte 0 (" + (cut - 512) + " of 1024 bytes): the stored"
          + " backup is truncated", e.getMessage());
    }
  }

  /** Regression: the record length was counted in characters, so a UTF-8 name came out wrong. */
  @Test
  void paxRecordLengthsCountBytesSoMultiByteNamesUnpack() throws IOException {
    String name = "base/16384/" + "\u00e9".repeat(40) + "\u65e5\u672c\u8a9e\ud83d\ude00" + "x".repeat(80);
    Path pgdata = tmp.resolve("pgdata");
    extract(pgdata, new TarBuilder().paxPath(name).file("ignored", "data")
        .pax('x', Map.of("path", "\u00fc/\u00df", "linkpath", "\u00e9/\ud83d\ude00")).symlink("x", "y")
        .pax('x', Map.of("mtime", "1733400000.5", "comment", "\u00e4".repeat(300))).file("plain", "p").end());
    assertEquals("data", Files.readString(pgdata.resolve(name)));
    assertEquals(Path.of("\u00e9/\ud83d\ude00"), Files.readSymbolicLink(pgdata.resolve("\u00fc/\u00df")));
    assertEquals("p", Files.readString(pgdata.resolve("plain")));
  }

  /** Regression: a record length of 0 looped forever; others threw NumberFormatException. */
  @Test
  void malformedPaxRecordsAreRefusedNamingTheHeader() {
    assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
      for (String body : List.of("0 path=x\n", "abc path=x\n", "99 path=x\n", "-5 path=x\n",
          "9 pathxy\n", "5 =x\n", "10 path=x\n4 a", "10 path=xy")) {
        refused(new TarBuilder().record("././@PaxHeader", 'x', body.getBytes(StandardCharsets.UTF_8))
            .file("f", "1").end(), "the pax extended header '././@PaxHeader' at byte 0 has a"
            + " malformed record at its byte " + (body.startsWith("10 path=x\n") ? 10 : 0)
            + " (expected \"LENGTH key=value\\n\"); the stored backup is corrupt; refusing");
      }
      refused(new TarBuilder().record("././@PaxHeader", 'x', "12 size=abc\n".getBytes(StandardCharsets.UTF_8))
          .file("f", "1").end(), "the pax extended header '././@PaxHeader' at byte 0 gives the size"
          + " 'abc', not a number of bytes; the stored backup is corrupt; refusing");
    });
  }

  /** A pax size overrides the header's (GNU tar writes one for files of 8 GiB and more). */
  @Test
  void aPaxSizeGovernsTheEntrysData() throws IOException {
    Path pgdata = tmp.resolve("pgdata");
    byte[] tar = new TarBuilder().pax('x', Map.of("size", "5")).file("f", "").truncated();
    byte[] data = Arrays.copyOf("hello".getBytes(StandardCharsets.UTF_8), 512);
    byte[] whole = new byte[tar.length + 512 + 1024];
    System.arraycopy(tar, 0, whole, 0, tar.length);
    System.arraycopy(data, 0, whole, tar.length, 512);
    extract(pgdata, whole);
    assertEquals("hello", Files.readString(pgdata.resolve("f")));
  }

  /** Regression: a K record after an L one dropped the long name (and the other way round). */
  @Test
  void gnuLongNameAndLongLinkNameTogetherAreBothHonoured() throws IOException {
    String longName = "conf/" + "n".repeat(150);
    String longLink = "t".repeat(150);
    Path pgdata = tmp.resolve("pgdata");
    extract(pgdata, new TarBuilder()
        .gnuLong('L', longName).gnuLong('K', longLink).symlink("short", "short-link")
        .gnuLong('K', longLink + "2").gnuLong('L', longName + "2").symlink("s2", "l2")
        .gnuLong('L', "data/" + "f".repeat(120)).file("ignored", "content")
        .gnuLong('L', "data/" + "h".repeat(150)).gnuLong('K', "data/" + "f".repeat(120)).hardLink("h", "f")
        .end());
    assertEquals(Path.of(longLink), Files.readSymbolicLink(pgdata.resolve(longName)));
    assertEquals(Path.of(longLink + "2"), Files.readSymbolicLink(pgdata.resolve(longName + "2")));
    assertEquals("content", Files.readString(pgdata.resolve("data/" + "h".repeat(150))));
    assertFalse(Files.exists(pgdata.resolve("short"), LinkOption.NOFOLLOW_LINKS));
    assertFalse(Files.exists(pgdata.resolve("h"), LinkOption.NOFOLLOW_LINKS));
  }

  /** Regression: a negative base-256 size made readNBytes throw IllegalArgumentException. */
  @Test
  void sizesThatAreNotAByteCountAreRefused() throws IOException {
    byte[] negative = new byte[12];
    Arrays.fill(negative, (byte) 0xff);
    byte[] tooBig = new byte[12];
    tooBig[0] = (byte) 0x80;
    tooBig[1] = 1;
    for (char type : new char[] {'0', 'x', 'L', 'g'}) {
      for (byte[] size : List.of(negative, tooBig)) {
        refused(new TarBuilder().base256Size("f", type, size).end(), "the tar header at byte 0"
            + " (entry 'f') holds a size that is not a number of bytes; the stored backup is"
            + " corrupt; pick another backup");
      }
    }
    refused(new TarBuilder().record("d", '5', new byte[10]).end(), "entry 'd' is a directory"
        + " with 10 bytes of data, which no tar writer stores; the stored backup is corrupt; refusing");
  }

  @Test
  void controlCharactersInANameAreEscapedInTheMessage() throws IOException {
    refused(new TarBuilder().file("a\nINFO forged/../x\u0000", "1").end(),
        "entry name 'a\\x0AINFO forged/../x' contains '..'; refusing to unpack it");
  }

  /**
   * Random archives of files, directories, symlinks and hard links whose names and targets mix
   * {@code ..}, {@code .}, absolute paths and chains, a quarter of them cut at a random byte:
   * each either unpacks or fails with an
   * IOException (never another exception), nothing outside the target changes, and no link left
   * in the target leads out of it when followed.
   */
  @Test
  void randomArchivesNeverWriteOutsideNorLeaveALinkOut() throws IOException {
    String[] parts = {"a", "b", "c", "..", ".", "base", "PG_VERSION", "postgresql.auto.conf"};
    String[] linkTargets = {".", "..", "a", "b/c", "../outside", "a/../..", "/tmp", outside.toString(),
        "base/../../outside/passwd", "c/..", "a/b", ""};
    java.util.Random random = new java.util.Random(13);
    int unpacked = 0;
    for (int round = 0; round < 400; round++) {
      TarBuilder tar = new TarBuilder();
      for (int i = 0, n = 1 + random.nextInt(6); i < n; i++) {
        StringBuilder name = new StringBuilder(random.nextInt(8) == 0 ? "/" : "");
        for (int k = 0, depth = 1 + random.nextInt(3); k < depth; k++) {
          name.append(k == 0 ? "" : "/").append(parts[random.nextInt(parts.length)]);
        }
        String link = linkTargets[random.nextInt(linkTargets.length)];
        switch (random.nextInt(4)) {
          case 0 -> tar.file(name.toString(), "round " + round);
          case 1 -> tar.dir(name.toString());
          case 2 -> tar.symlink(name.toString(), link);
          default -> tar.hardLink(name.toString(), random.nextBoolean() ? link : "a/b");
        }
      }
      Path target = tmp.resolve("pgdata").resolve("r" + round);
      byte[] bytes = tar.end();
      if (random.nextInt(4) == 0) { // cut anywhere: a truncated object
        bytes = java.util.Arrays.copyOf(bytes, random.nextInt(bytes.length));
      }
      try {
        extract(target, bytes);
        unpacked++;
      } catch (IOException expected) {
        // refused: fine, as long as nothing escaped
      }
      assertEquals(outsideBefore, listing(tmp), "round " + round);
      Path real = target.toRealPath();
      try (Stream<Path> all = Files.walk(real)) {
        for (Path p : all.filter(Files::isSymbolicLink).toList()) {
          try {
            assertTrue(p.toRealPath().startsWith(real), "round " + round + ": " + p + " leads out");
          } catch (java.nio.file.FileSystemException dangling) {
            // dangling or a loop: following it never reaches anything outside
          }
        }
      }
    }
    assertTrue(unpacked >= 10, "some archives were harmless: " + unpacked); // 20 with this seed
  }
}
