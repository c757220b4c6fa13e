package io.pgsidecar.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class DigestingInputStreamTest {

  /**
   * Skipped bytes are hashed and counted too: a tar reader skips padding, and with the JDK's
   * DigestInputStream (which does not hash what skip jumps over) no checksum would ever match.
   */
  @Test
  void everyBytePassesTheDigestWhetherReadOrSkipped() throws Exception {
    byte[] data = new byte[100_003];
    new Random(15).nextBytes(data);
    AtomicLong progress = new AtomicLong();
    var in = new DigestingInputStream(new ByteArrayInputStream(data), progress::addAndGet);
    assertEquals(data[0] & 0xff, in.read());
    assertEquals(10_000, in.skip(10_000));
    byte[] buf = new byte[777];
    assertEquals(777, in.read(buf, 0, buf.length));
    assertEquals(data.length - 10_778, in.skip(Long.MAX_VALUE));
    assertEquals(-1, in.read());
    assertEquals(data.length, in.size());
    assertEquals(data.length, progress.get());
    assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)),
        in.sha256Hex());
  }
}
