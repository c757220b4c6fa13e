package io.pgsidecar.core.codec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * The chain applied to everything we store: compression, then (optionally) encryption. Writing
 * uses the configured chain; reading uses the chain recorded in the object's metadata, so objects
 * written under an older configuration stay readable.
 */
public interface CodecPipeline {

  /** Codec names joined by {@code +} in encoding order, e.g. {@code zstd+pgp}. */
  String name();

  /** Suffix appended to object keys, e.g. {@code .zst.pgp} (empty for no codec). */
  String suffix();

  /** Fingerprint (hex, upper case) of the key or passphrase the output is encrypted to; "" if none. */
  String keyFingerprint();

  /** Wraps {@code sink}; closing the result finishes every codec and closes {@code sink}. */
  OutputStream encode(OutputStream sink) throws IOException;

  /**
   * Wraps {@code source} to undo {@code storedCodec} (a name produced by some pipeline's
   * {@link #name()}). {@code objectKey} is only used in error messages.
   */
  InputStream decode(InputStream source, String storedCodec, String objectKey) throws IOException;

  /** The codecs in encoding order. */
  List<Codec> codecs();

  /**
   * The same chain with {@code workers} zstd worker threads per stream (same output format, same
   * name and suffix): base backups are one long stream that a single compressing thread cannot
   * keep up with, WAL segments are many short ones that gain nothing from workers. Pipelines
   * without zstd return themselves.
   */
  default CodecPipeline withCompressionWorkers(int workers) {
    return this;
  }

  /**
   * The same chain with zstd at {@code level} (same name and suffix; decoding does not depend on
   * the level): WAL segments are compressed at {@code wal.compression-level}, base backups and
   * dumps at {@code compression.level}. Pipelines without zstd return themselves.
   */
  default CodecPipeline withCompressionLevel(int level) {
    return this;
  }
}
