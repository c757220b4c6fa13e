package io.pgsidecar.core.codec;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Test content shaped like WAL: runs of repeated records, text and random pages. */
final class CodecTestData {
  private CodecTestData() {}

  static byte[] sample(int size, long seed) {
    Random random = new Random(seed);
    byte[] data = new byte[size];
    int pos = 0;
    while (pos < size) {
      int kind = random.nextInt(3);
      int len = Math.min(size - pos, 512 + random.nextInt(8192));
      if (kind == 0) {
        byte[] page = new byte[len];
        random.nextBytes(page);
        System.arraycopy(page, 0, data, pos, len);
      } else if (kind == 1) {
        byte[] text = ("INSERT INTO pgbench_history VALUES (" + random.nextInt(1000) + ", "
            + random.nextInt(100000) + ", now());\n").getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < len; i++) {
          data[pos + i] = text[i % text.length];
        }
      } // kind 2: zeros, like the unused tail of a segment
      pos += len;
    }
    return data;
  }

  static byte[] encode(CodecPipeline pipeline, byte[] plain) throws IOException {
    var out = new ByteArrayOutputStream();
    try (OutputStream enc = pipeline.encode(out)) {
      enc.write(plain);
    }
    return out.toByteArray();
  }

  static byte[] decode(CodecPipeline pipeline, byte[] stored, String codec, String key)
      throws IOException {
    try (InputStream in = pipeline.decode(new ByteArrayInputStream(stored), codec, key)) {
      return in.readAllBytes();
    }
  }
}
