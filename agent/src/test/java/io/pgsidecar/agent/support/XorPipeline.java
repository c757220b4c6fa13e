package io.pgsidecar.agent.support;

import io.pgsidecar.core.codec.Codec;
import io.pgsidecar.core.codec.CodecPipeline;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * A test-only pipeline that changes every byte (XOR 0x5A), so a test notices when the agent
 * forgets to encode or decode; stands in for the real zstd/OpenPGP pipelines of the codec module.
 */
public final class XorPipeline implements CodecPipeline {

  public static final String NAME = "xor";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String suffix() {
    return ".xor";
  }

  @Override
  public String keyFingerprint() {
    return "";
  }

  @Override
  public OutputStream encode(OutputStream sink) {
    return new FilterOutputStream(sink) {
      @Override
      public void write(int b) throws IOException {
        out.write(b ^ 0x5A);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        byte[] x = new byte[len];
        for (int i = 0; i < len; i++) {
          x[i] = (byte) (b[off + i] ^ 0x5A);
        }
        out.write(x);
      }
    };
  }

  @Override
  public InputStream decode(InputStream source, String storedCodec, String objectKey) throws IOException {
    if (!NAME.equals(storedCodec)) {
      throw new IOException(objectKey + " was written with codec '" + storedCodec + "'; the test"
          + " pipeline reads only '" + NAME + "'");
    }
    return new FilterInputStream(source) {
      @Override
      public int read() throws IOException {
        int b = in.read();
        return b < 0 ? b : (b ^ 0x5A) & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        for (int i = 0; i < n; i++) {
          b[off + i] ^= 0x5A;
        }
        return n;
      }
    };
  }

  /** Plain bytes to what this pipeline stores. */
  public static byte[] encoded(byte[] plain) {
    byte[] x = new byte[plain.length];
    for (int i = 0; i < x.length; i++) {
      x[i] = (byte) (plain[i] ^ 0x5A);
    }
    return x;
  }

  @Override
  public List<Codec> codecs() {
    return List.of();
  }
}
