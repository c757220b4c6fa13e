package io.pgsidecar.core.codec;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Codecs applied in order on the way out, and undone in reverse order on the way in by looking
 * each stored name up in a table (so reading does not depend on what writing is configured to).
 */
final class ChainPipeline implements CodecPipeline {

  static final String NONE = "none";
  private static final int BUFFER = 1 << 16;

  private final List<Codec> encoders;
  private final Map<String, Codec> decoders;
  private final String keyFingerprint;
  private final String name;
  private final String suffix;

  ChainPipeline(List<Codec> encoders, Map<String, Codec> decoders, String keyFingerprint) {
    this.encoders = List.copyOf(encoders);
    this.decoders = Map.copyOf(decoders);
    this.keyFingerprint = keyFingerprint;
    this.name = encoders.isEmpty() ? NONE
        : encoders.stream().map(Codec::name).collect(Collectors.joining("+"));
    this.suffix = encoders.stream().map(c -> "." + c.suffix()).collect(Collectors.joining());
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String suffix() {
    return suffix;
  }

  @Override
  public String keyFingerprint() {
    return keyFingerprint;
  }

  @Override
  public CodecPipeline withCompressionWorkers(int workers) {
    List<Codec> changed = encoders.stream()
        .map(c -> c instanceof ZstdCodec z ? new ZstdCodec(z.level(), workers) : c).toList();
    return new ChainPipeline(changed, decoders, keyFingerprint);
  }

  @Override
  public CodecPipeline withCompressionLevel(int level) {
    List<Codec> changed = encoders.stream()
        .map(c -> c instanceof ZstdCodec z ? new ZstdCodec(level, z.workers()) : c).toList();
    return new ChainPipeline(changed, decoders, keyFingerprint);
  }

  @Override
  public OutputStream encode(OutputStream sink) throws IOException {
    OutputStream out = sink;
    for (int i = encoders.size() - 1; i >= 0; i--) {
      out = encoders.get(i).encoder(out);
    }
    // Callers write tar headers and small buffers; native codecs want big chunks.
    return new BufferedOutputStream(out, BUFFER);
  }

  @Override
  public InputStream decode(InputStream source, String storedCodec, String objectKey)
      throws IOException {
    if (storedCodec == null || storedCodec.isEmpty() || storedCodec.equals(NONE)) {
      return source;
    }
    String[] names = storedCodec.split("\\+");
    Codec[] codecs = new Codec[names.length];
    for (int i = 0; i < names.length; i++) { // all known before any byte is read
      codecs[i] = decoders.get(names[i]);
      if (codecs[i] == null) {
        throw new CodecException("object " + objectKey + " was written with codec '" + names[i]
            + "' (stored codec '" + storedCodec + "'), which this pgsidecar does not know:"
            + " read it with the pgsidecar version that wrote it");
      }
    }
    InputStream in = source;
    for (int i = codecs.length - 1; i >= 0; i--) {
      in = codecs[i].decoder(in, objectKey);
    }
    return in;
  }

  @Override
  public List<Codec> codecs() {
    return encoders;
  }

  @Override
  public String toString() {
    return "CodecPipeline[" + name + ", " + encoders + "]";
  }
}
