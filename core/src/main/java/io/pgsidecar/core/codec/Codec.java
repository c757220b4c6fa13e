package io.pgsidecar.core.codec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * One stream filter (zstd, OpenPGP). Encoding wraps a sink; closing the returned stream finishes
 * the encoding and closes the sink. Decoding wraps a source and must fail, naming what is wrong,
 * on corrupt or truncated input: it never returns a silently short stream.
 */
public interface Codec {

  /** The name stored in object metadata and file suffixes, e.g. {@code zstd}, {@code pgp}. */
  String name();

  /** File-name suffix without the dot: {@code zst}, {@code pgp}. */
  String suffix();

  OutputStream encoder(OutputStream sink) throws IOException;

  InputStream decoder(InputStream source) throws IOException;

  /**
   * Like {@link #decoder(InputStream)}, naming {@code objectKey} in every error it raises so an
   * operator knows which stored object is damaged or needs which key.
   */
  default InputStream decoder(InputStream source, String objectKey) throws IOException {
    return decoder(source);
  }
}
