package io.pgsidecar.core.codec;

import static io.pgsidecar.core.codec.PgpTestKeys.zstd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import io.pgsidecar.testkit.WalLikeData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** 200 MB through zstd+pgp and back without ever holding more than a buffer of it. */
class StreamingTest {

  private static final long SIZE = 200L * 1000 * 1000;
  private final PgpTestKeys keys = PgpTestKeys.get();

  @TempDir Path dir;

  @Test
  void twoHundredMegabytesStreamThroughZstdAndPgpAndBack() throws Exception {
    CodecPipeline pipeline = Pipelines.forConfig(zstd(), keys.alice());
    Path stored = dir.resolve("object.zst.pgp");
    MessageDigest written = MessageDigest.getInstance("SHA-256");
    byte[] buffer = new byte[1 << 16];
    try (InputStream data = new WalLikeData(SIZE, 5);
        OutputStream out = new DigestOutputStream(
            pipeline.encode(Files.newOutputStream(stored)), written)) {
      for (int n; (n = data.read(buffer)) != -1; ) {
        out.write(buffer, 0, n);
      }
    }
    assertTrue(Files.size(stored) < SIZE * 6 / 10, "stored " + Files.size(stored));

    MessageDigest read = MessageDigest.getInstance("SHA-256");
    long total = 0;
    try (InputStream in = pipeline.decode(Files.newInputStream(stored), "zstd+pgp", "big")) {
      for (int n; (n = in.read(buffer)) != -1; total += n) {
        read.update(buffer, 0, n);
      }
    }
    assertEquals(SIZE, total);
    assertEquals(HexFormat.of().formatHex(written.digest()),
        HexFormat.of().formatHex(read.digest()));
  }
}
