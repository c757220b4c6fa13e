package io.pgsidecar.core.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import io.pgsidecar.testkit.WalLikeData;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Single-threaded zstd encoders reuse pooled contexts: same frames, no state carried over. */
class ZstdContextPoolTest {

  private static final int SEGMENT = 16 << 20;

  @Test
  void pooledEncoderWritesTheSameFramesAsZstdJniStream() throws Exception {
    byte[] plain = new WalLikeData(SEGMENT, 7).readAllBytes();
    ZstdCodec codec = new ZstdCodec(3, 0);
    var reference = new ByteArrayOutputStream();
    try (var out = new ZstdOutputStreamNoFinalizer(reference)) {
      out.setLevel(3);
      out.setChecksum(true);
      write(out, plain);
    }
    for (int round = 0; round < 3; round++) { // a fresh context, then reused ones
      assertArrayEquals(reference.toByteArray(), encode(codec, plain), "round " + round);
    }
    assertEquals(1, codec.pooledContexts());
  }

  @Test
  void contextsAreReusedAndBoundedByThePool() throws Exception {
    ZstdCodec codec = new ZstdCodec(3, 0);
    List<OutputStream> open = new ArrayList<>();
    List<ByteArrayOutputStream> sinks = new ArrayList<>();
    for (int i = 0; i < ZstdCodec.POOLED_CONTEXTS + 3; i++) {
      var sink = new ByteArrayOutputStream();
      sinks.add(sink);
      OutputStream out = codec.encoder(sink);
      out.write(("segment " + i).getBytes());
      open.add(out);
    }
    for (OutputStream out : open) {
      out.close();
    }
    assertEquals(ZstdCodec.POOLED_CONTEXTS, codec.pooledContexts());
    for (int i = 0; i < sinks.size(); i++) {
      assertArrayEquals(("segment " + i).getBytes(), decode(codec, sinks.get(i).toByteArray()));
    }
  }

  @Test
  void streamAbandonedHalfWayLeavesNothingInTheNextOne() throws Exception {
    ZstdCodec codec = new ZstdCodec(3, 0);
    byte[] plain = new WalLikeData(4 << 20, 3).readAllBytes();
    var failing = new OutputStream() {
      long written;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        written += len;
        if (written > 200_000) {
          throw new IOException("upload failed");
        }
      }
    };
    OutputStream broken = codec.encoder(failing);
    assertThrows(IOException.class, () -> write(broken, plain));
    assertThrows(IOException.class, broken::close); // ending the frame fails too: context back
    assertEquals(1, codec.pooledContexts());
    assertArrayEquals(plain, decode(codec, encode(codec, plain)));
  }

  @Test
  void writeAfterCloseIsRefused() throws Exception {
    ZstdCodec codec = new ZstdCodec(1, 0);
    OutputStream out = codec.encoder(new ByteArrayOutputStream());
    out.close();
    out.close(); // twice is fine
    assertThrows(IOException.class, () -> out.write(1));
    assertEquals(1, codec.pooledContexts());
  }

  @Test
  void emptyInputIsOneEmptyFrame() throws Exception {
    ZstdCodec codec = new ZstdCodec(3, 0);
    byte[] stored = encode(codec, new byte[0]);
    assertEquals(0, decode(codec, stored).length);
  }

  private static byte[] encode(ZstdCodec codec, byte[] plain) throws IOException {
    var sink = new ByteArrayOutputStream();
    try (OutputStream out = codec.encoder(sink)) {
      write(out, plain);
    }
    return sink.toByteArray();
  }

  private static byte[] decode(ZstdCodec codec, byte[] stored) throws IOException {
    try (InputStream in = codec.decoder(new ByteArrayInputStream(stored), "test")) {
      return in.readAllBytes();
    }
  }

  /** In 64 KiB pieces, as EncodingInputStream writes. */
  private static void write(OutputStream out, byte[] plain) throws IOException {
    for (int off = 0; off < plain.length; off += 64 << 10) {
      out.write(plain, off, Math.min(64 << 10, plain.length - off));
    }
  }
}
