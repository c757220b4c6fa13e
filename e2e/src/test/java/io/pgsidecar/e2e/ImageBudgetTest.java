package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * The image's size budget (issue 14): the uncompressed layers of target/images/pgsidecar.oci.tar
 * (built by ./scripts/image.sh when stale, as for the pod drill) are at most 150 MB, and the
 * class-data archive the launchers name is in it. image.sh itself refuses to finish over the
 * budget (container/oci.py --budget-mb); this holds the archive a test run uses to it.
 */
class ImageBudgetTest {

  static final long BUDGET_BYTES = 150_000_000L;

  @Test
  void uncompressedLayersStayWithin150MbAndHoldTheClassDataArchive() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")),
        "scripts/image.sh needs root (its class-data archive is made in a chroot; CI runs as root)");
    KubeletSim.pgsidecarImage();
    Path archive = KubeletSim.repoRoot().resolve("target/images/pgsidecar.oci.tar");
    Map<String, byte[]> small = new HashMap<>();
    Map<String, Long> layerBytes = new HashMap<>();
    long[] aot = {-1};
    try (InputStream in = Files.newInputStream(archive)) {
      Tar.each(in, (name, size, body) -> {
        if (size < 1_000_000) {
          small.put(name, body.readAllBytes());
        } else {
          // a layer: count its uncompressed bytes and look for the archive inside
          try (var gz = new GZIPInputStream(body, 1 << 16)) {
            long[] total = {0};
            var counted = new CountingInputStream(gz, total);
            Tar.each(counted, (inner, innerSize, innerBody) -> {
              if (inner.equals("opt/pgsidecar/lib/pgsidecar.aot")) {
                aot[0] = innerSize;
              }
            });
            counted.transferTo(java.io.OutputStream.nullOutputStream()); // the end blocks
            layerBytes.put(name, total[0]);
          }
        }
      });
    }
    JsonNode index = KubeletSim.JSON.readTree(small.get("index.json"));
    String manifestDigest = index.path("manifests").path(0).path("digest").asText().replace("sha256:", "");
    JsonNode manifest = KubeletSim.JSON.readTree(small.get("blobs/sha256/" + manifestDigest));
    long total = 0;
    StringBuilder report = new StringBuilder();
    for (JsonNode layer : manifest.path("layers")) {
      String blob = "blobs/sha256/" + layer.path("digest").asText().replace("sha256:", "");
      long bytes = layerBytes.getOrDefault(blob, small.containsKey(blob) ? gunzipped(small.get(blob)) : -1L);
      assertTrue(bytes >= 0, "layer " + blob + " is not in the archive");
      total += bytes;
      report.append(String.format("  layer %s %.1f MB%n", layer.path("annotations").path("io.pgsidecar.layer")
          .asText(blob.substring(13, 25)), bytes / 1e6));
    }
    System.out.printf("image: %.1f MB uncompressed (budget %.0f MB), class-data archive %.1f MB%n%s",
        total / 1e6, BUDGET_BYTES / 1e6, aot[0] / 1e6, report);
    assertEquals(3, manifest.path("layers").size(), "runtime, dependencies, pgsidecar");
    assertTrue(total <= BUDGET_BYTES, String.format("the image is %.1f MB uncompressed, over the budget of"
        + " %.0f MB:%n%s(container/README.md says what each part costs)", total / 1e6, BUDGET_BYTES / 1e6, report));
    assertTrue(aot[0] > 10_000_000, "no class-data archive at /opt/pgsidecar/lib/pgsidecar.aot (IMAGE_AOT=off?)");
  }

  private static long gunzipped(byte[] gz) throws IOException {
    try (var in = new GZIPInputStream(new java.io.ByteArrayInputStream(gz))) {
      return in.transferTo(java.io.OutputStream.nullOutputStream());
    }
  }

  /** Counts what is read through it (tar padding and end blocks included: the layer's size). */
  private static final class CountingInputStream extends java.io.FilterInputStream {
    private final long[] count;

    CountingInputStream(InputStream in, long[] count) {
      super(in);
      this.count = count;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        count[0]++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        count[0] += n;
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      long s = super.skip(n);
      count[0] += s;
      return s;
    }
  }

  /** The minimal ustar/GNU reader these archives need (oci.py and Python's tarfile write them). */
  static final class Tar {
    interface Entry {
      void accept(String name, long size, InputStream body) throws IOException;
    }

    static void each(InputStream in, Entry entry) throws IOException {
      byte[] header = new byte[512];
      String longName = null;
      while (in.readNBytes(header, 0, 512) == 512) {
        if (header[0] == 0) {
          return; // end of archive
        }
        String name = longName != null ? longName : field(header, 0, 100);
        longName = null;
        String prefix = field(header, 345, 155);
        if (!prefix.isEmpty() && name.equals(field(header, 0, 100))) {
          name = prefix + "/" + name;
        }
        long size = Long.parseLong(field(header, 124, 12).trim().isEmpty() ? "0" : field(header, 124, 12).trim(), 8);
        byte type = header[156];
        var body = new BoundedInputStream(in, size);
        if (type == 'L') {
          longName = new String(body.readAllBytes(), StandardCharsets.UTF_8).replace("\0", "");
        } else if (type == '0' || type == 0) {
          entry.accept(name.startsWith("./") ? name.substring(2) : name, size, body);
        }
        body.skip(Long.MAX_VALUE);
        long pad = (512 - size % 512) % 512;
        in.readNBytes((int) pad);
      }
    }

    private static String field(byte[] h, int off, int len) {
      int end = off;
      while (end < off + len && h[end] != 0) {
        end++;
      }
      return new String(h, off, end - off, StandardCharsets.UTF_8);
    }
  }

  private static final class BoundedInputStream extends InputStream {
    private final InputStream in;
    private long left;

    BoundedInputStream(InputStream in, long size) {
      this.in = in;
      this.left = size;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) {
        return -1;
      }
      int b = in.read();
      if (b >= 0) {
        left--;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = in.read(b, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      byte[] buf = new byte[8192];
      long skipped = 0;
      while (left > 0 && skipped < n) {
        int r = read(buf, 0, (int) Math.min(buf.length, n - skipped));
        if (r < 0) {
          break;
        }
        skipped += r;
      }
      return skipped;
    }
  }
}
