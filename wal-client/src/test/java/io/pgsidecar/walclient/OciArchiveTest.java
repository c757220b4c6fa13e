package io.pgsidecar.walclient;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * container/oci.py, the writer of scripts/image.sh's OCI archive, on a small tree (the full image
 * build takes minutes; this is its cheap check in every test run): the same input gives the same
 * bytes, every blob's name is its SHA-256, the manifest and config link up, the layer holds the
 * tree with its modes and symlinks at SOURCE_DATE_EPOCH, owned by 0, and the config runs as 999.
 */
class OciArchiveTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void theSameTreeGivesTheSameArchiveAndTheArchiveHoldsTheTree() throws Exception {
    Path tree = Files.createDirectories(dir.resolve("tree/opt/pgsidecar/bin"));
    Files.writeString(tree.resolve("wal-archiver"), "#!/bin/sh\necho hi\n");
    Files.setPosixFilePermissions(tree.resolve("wal-archiver"), PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(tree.resolve("pgsidecar-install-client"), Path.of("wal-archiver"));
    Path deps = Files.createDirectories(dir.resolve("deps/opt/pgsidecar/lib/lib"));
    Files.write(deps.resolve("a.jar"), new byte[70_000]);

    byte[] first = build("first.tar", 1_700_000_000L);
    Files.setLastModifiedTime(tree.resolve("wal-archiver"), java.nio.file.attribute.FileTime.fromMillis(1));
    byte[] second = build("second.tar", 1_700_000_000L);
    assertArrayEquals(first, second, "same input, same bytes (file times on disk do not matter)");
    byte[] other = build("third.tar", 1_700_000_001L);
    assertTrue(!java.util.Arrays.equals(first, other), "another SOURCE_DATE_EPOCH, another archive");

    Map<String, byte[]> files = untar(first);
    assertEquals("{\"imageLayoutVersion\":\"1.0.0\"}", new String(files.get("oci-layout"), StandardCharsets.UTF_8));
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      if (e.getKey().startsWith("blobs/sha256/") && e.getValue() != null) {
        assertEquals(e.getKey().substring("blobs/sha256/".length()), sha256(e.getValue()), e.getKey());
      }
    }
    JsonNode index = JSON.readTree(files.get("index.json"));
    JsonNode manifest = JSON.readTree(blob(files, index.at("/manifests/0/digest").asText()));
    JsonNode config = JSON.readTree(blob(files, manifest.at("/config/digest").asText()));
    assertEquals("999:999", config.at("/config/User").asText());
    assertEquals("2023-11-14T22:13:20Z", config.at("/created").asText());
    assertEquals("abc123", config.at("/config/Labels/org.opencontainers.image.revision").asText());
    assertEquals(2, manifest.get("layers").size());

    // the first layer: the tree, paths relative, owner 0, time = epoch, modes and symlink kept
    byte[] layerGz = blob(files, manifest.at("/layers/0/digest").asText());
    byte[] layer = new GZIPInputStream(new ByteArrayInputStream(layerGz)).readAllBytes();
    assertEquals("sha256:" + sha256(layer), config.at("/rootfs/diff_ids/0").asText());
    Map<String, Entry> entries = tarEntries(layer);
    assertEquals(List.of("opt/", "opt/pgsidecar/", "opt/pgsidecar/bin/", "opt/pgsidecar/bin/pgsidecar-install-client",
        "opt/pgsidecar/bin/wal-archiver"), List.copyOf(entries.keySet()));
    Entry script = entries.get("opt/pgsidecar/bin/wal-archiver");
    assertEquals(0755, script.mode);
    assertEquals(0, script.uid);
    assertEquals(1_700_000_000L, script.mtime);
    assertEquals("#!/bin/sh\necho hi\n", new String(script.data, StandardCharsets.UTF_8));
    assertEquals('2', entries.get("opt/pgsidecar/bin/pgsidecar-install-client").type);
    assertEquals("wal-archiver", entries.get("opt/pgsidecar/bin/pgsidecar-install-client").link);
  }

  private byte[] build(String name, long epoch) throws Exception {
    Path oci = Path.of(System.getProperty("pgsidecar.ociPy", "../container/oci.py"));
    Path out = dir.resolve(name);
    Process p = new ProcessBuilder("python3", oci.toString(), "--out", out.toString(), "--epoch",
        Long.toString(epoch), "--revision", "abc123", "--version", "0.1.0-test", "--runtime", "test",
        "--packages", "none", "--layer", "pgsidecar=" + dir.resolve("tree"),
        "--layer", "dependencies=" + dir.resolve("deps")).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), output);
    assertTrue(output.contains("image: digest sha256:"), output);
    return Files.readAllBytes(out);
  }

  private static byte[] blob(Map<String, byte[]> files, String digest) {
    byte[] b = files.get("blobs/sha256/" + digest.substring("sha256:".length()));
    assertTrue(b != null, "no blob " + digest);
    return b;
  }

  private static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  private record Entry(char type, int mode, int uid, long mtime, String link, byte[] data) {}

  /** A minimal reader of (GNU/ustar) tar: enough to look inside what oci.py writes. */
  private static Map<String, Entry> tarEntries(byte[] tar) throws IOException {
    Map<String, Entry> out = new LinkedHashMap<>();
    InputStream in = new ByteArrayInputStream(tar);
    String longName = null;
    while (true) {
      byte[] h = in.readNBytes(512);
      if (h.length < 512 || h[0] == 0) {
        return out;
      }
      String name = longName != null ? longName : field(h, 0, 100);
      longName = null;
      long size = Long.parseLong(field(h, 124, 12).trim(), 8);
      char type = (char) h[156];
      byte[] data = in.readNBytes((int) size);
      in.skipNBytes((512 - size % 512) % 512);
      if (type == 'L') {
        longName = new String(data, StandardCharsets.UTF_8).replace("\0", "");
        continue;
      }
      out.put(name, new Entry(type, Integer.parseInt(field(h, 100, 8).trim(), 8),
          Integer.parseInt(field(h, 108, 8).trim(), 8), Long.parseLong(field(h, 136, 12).trim(), 8),
          field(h, 157, 100), data));
    }
  }

  private static Map<String, byte[]> untar(byte[] tar) throws IOException {
    Map<String, byte[]> files = new LinkedHashMap<>();
    tarEntries(tar).forEach((k, v) -> files.put(k, v.type == '5' ? null : v.data));
    return files;
  }

  private static String field(byte[] h, int off, int len) {
    int end = off;
    while (end < off + len && h[end] != 0) {
      end++;
    }
    return new String(h, off, end - off, StandardCharsets.UTF_8);
  }
}
