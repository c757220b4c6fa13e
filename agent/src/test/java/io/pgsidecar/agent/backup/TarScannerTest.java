package io.pgsidecar.agent.backup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarScannerTest {

  @TempDir
  static Path dir;
  static byte[] tar;
  static byte[] big;

  /** A tar written by GNU tar in ustar format, as pg_basebackup writes: real headers. */
  @BeforeAll
  static void makeTar() throws Exception {
    Path src = Files.createDirectories(dir.resolve("src"));
    Files.writeString(src.resolve("backup_label"), "START WAL LOCATION: 0/2000028 (file x)\n");
    big = new byte[3 * 1024 * 1024 + 17];
    new Random(1).nextBytes(big);
    Files.createDirectories(src.resolve("base/1"));
    Files.write(src.resolve("base/1/1259"), big);
    Files.writeString(src.resolve("backup_manifest"), "{\"x\": 1}");
    Path out = dir.resolve("t.tar");
    Process p = new ProcessBuilder("tar", "--format=ustar", "-cf", out.toString(), "-C",
        src.toString(), "backup_label", "base", "backup_manifest").inheritIO().start();
    assertEquals(0, p.waitFor());
    tar = Files.readAllBytes(out);
  }

  private static Map<String, ByteArrayOutputStream> scan(byte[] data, int chunk) throws IOException {
    Map<String, ByteArrayOutputStream> got = new HashMap<>();
    TarScanner s = new TarScanner(name -> List.of("backup_label", "backup_manifest", "base/1/1259")
        .contains(name) ? new TarScanner.MemberSink() {
          final ByteArrayOutputStream b = got.computeIfAbsent(name, k -> new ByteArrayOutputStream());

          @Override
          public void data(byte[] x, int off, int len) {
            b.write(x, off, len);
          }

          @Override
          public void end() {}
        } : null);
    for (int off = 0; off < data.length; off += chunk) {
      s.feed(data, off, Math.min(chunk, data.length - off));
    }
    assertTrue(s.complete() || data.length < tar.length);
    if (data.length < tar.length) {
      assertFalse(s.complete());
    }
    return got;
  }

  @Test
  void membersAreFoundWhateverTheChunkSize() throws Exception {
    for (int chunk : new int[] {1, 511, 512, 4096, 100_000, tar.length}) {
      var got = scan(tar, chunk);
      assertEquals("START WAL LOCATION: 0/2000028 (file x)\n", got.get("backup_label").toString());
      assertEquals("{\"x\": 1}", got.get("backup_manifest").toString());
      assertArrayEquals(big, got.get("base/1/1259").toByteArray());
    }
  }

  @Test
  void truncatedStreamIsNotComplete() throws Exception {
    scan(java.util.Arrays.copyOf(tar, tar.length / 2), 8192);
  }

  @Test
  void corruptHeaderIsRefusedWithItsOffset() {
    byte[] bad = tar.clone();
    bad[3] ^= 0x20; // first header's name
    var e = assertThrows(IOException.class, () -> scan(bad, 4096));
    assertTrue(e.getMessage().startsWith("tar stream corrupt: header checksum mismatch at offset 0"),
        e.getMessage());
  }
}
