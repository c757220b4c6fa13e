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

  /** What a scan saw: the members it was asked to keep, and whether the archive ended. */
  record Scan(Map<String, ByteArrayOutputStream> members, boolean complete) {}

  private static Scan scan(byte[] data, int chunk) throws IOException {
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
    return new Scan(got, s.complete());
  }

  @Test
  void membersAreFoundWhateverTheChunkSize() throws Exception {
    for (int chunk : new int[] {1, 511, 512, 4096, 100_000, tar.length}) {
      Scan scan = scan(tar, chunk);
      var got = scan.members();
      assertEquals("START WAL LOCATION: 0/2000028 (file x)\n", got.get("backup_label").toString());
      assertEquals("{\"x\": 1}", got.get("backup_manifest").toString());
      assertArrayEquals(big, got.get("base/1/1259").toByteArray());
      assertTrue(scan.complete(), "chunk " + chunk + ": the end-of-archive blocks were seen");
    }
  }

  /**
   * A stream cut in the middle of the big member (pg_basebackup died): not complete, the member
   * holds only the bytes that came, and the manifest behind it was never seen.
   */
  @Test
  void truncatedStreamIsNotComplete() throws Exception {
    int cut = tar.length / 2;
    Scan scan = scan(java.util.Arrays.copyOf(tar, cut), 8192);
    assertFalse(scan.complete());
    assertEquals("START WAL LOCATION: 0/2000028 (file x)\n",
        scan.members().get("backup_label").toString());
    byte[] partial = scan.members().get("base/1/1259").toByteArray();
    assertTrue(partial.length > 0 && partial.length < big.length, "got " + partial.length);
    assertArrayEquals(java.util.Arrays.copyOf(big, partial.length), partial);
    assertFalse(scan.members().containsKey("backup_manifest"));
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
