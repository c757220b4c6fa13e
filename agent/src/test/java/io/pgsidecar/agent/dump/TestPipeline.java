package io.pgsidecar.agent.dump;

import io.pgsidecar.core.codec.Codec;
import io.pgsidecar.core.codec.CodecPipeline;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * A test-only pipeline until the codec helper's {@code Pipelines} is merged: gzip, then a toy
 * "encryption" (XOR with a key-derived byte) behind a header naming the key's fingerprint.
 * Decoding with another key fails on the header, like OpenPGP fails to find its session key.
 * Not a cipher; it only gives the dump code a codec that can refuse.
 */
final class TestPipeline implements CodecPipeline {

  private final String fingerprint;
  private final byte mask;

  TestPipeline(String key) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
      this.fingerprint = HexFormat.of().withUpperCase().formatHex(d, 0, 8);
      this.mask = (byte) (d[8] | 1);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String name() {
    return "gzip+toy";
  }

  @Override
  public String suffix() {
    return ".gz.toy";
  }

  @Override
  public String keyFingerprint() {
    return fingerprint;
  }

  @Override
  public OutputStream encode(OutputStream sink) throws IOException {
    sink.write(fingerprint.getBytes(StandardCharsets.US_ASCII));
    OutputStream masked = new FilterOutputStream(sink) {
      @Override
      public void write(int b) throws IOException {
        out.write(b ^ mask);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        byte[] copy = new byte[len];
        for (int i = 0; i < len; i++) {
          copy[i] = (byte) (b[off + i] ^ mask);
        }
        out.write(copy);
      }
    };
    return new GZIPOutputStream(masked, 1 << 16);
  }

  @Override
  public InputStream decode(InputStream source, String storedCodec, String objectKey)
      throws IOException {
    if (!name().equals(storedCodec)) {
      throw new IOException("cannot decode " + objectKey + ": codec " + storedCodec
          + " is not " + name());
    }
    String header = new String(source.readNBytes(16), StandardCharsets.US_ASCII);
    if (!header.equals(fingerprint)) {
      throw new IOException("cannot decrypt " + objectKey + ": it is encrypted to key " + header
          + " and no configured key matches (have " + fingerprint + ")");
    }
    InputStream unmasked = new FilterInputStream(source) {
      @Override
      public int read() throws IOException {
        int b = in.read();
        return b < 0 ? b : (b ^ mask) & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        for (int i = 0; i < n; i++) {
          b[off + i] ^= mask;
        }
        return n;
      }
    };
    return new GZIPInputStream(unmasked, 1 << 16);
  }

  @Override
  public List<Codec> codecs() {
    return List.of();
  }
}
