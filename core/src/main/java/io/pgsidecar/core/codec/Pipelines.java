package io.pgsidecar.core.codec;

import io.pgsidecar.core.config.PgsidecarConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Builds the {@link CodecPipeline} for a configuration. Writing applies zstd (unless
 * {@code compression.algorithm} is {@code none}), then OpenPGP when {@code encryption} names a
 * public key or a passphrase. Reading follows the codec name stored with each object, so a
 * pipeline configured with pgp still reads objects stored as {@code zstd}, and one with only
 * {@code encryption.secret-keys} reads encrypted objects while writing plain ones.
 *
 * <p>Names: {@code zstd}, {@code pgp}, {@code zstd+pgp}; suffixes {@code .zst}, {@code .pgp},
 * {@code .zst.pgp}. The pipeline without any codec is named {@code none} with an empty suffix
 * (an empty stored name is read the same way).
 */
public final class Pipelines {

  /** Level used to build the decode-only zstd codec: decoding does not depend on it. */
  private static final int DEFAULT_LEVEL = 3;

  private Pipelines() {}

  public static CodecPipeline forConfig(PgsidecarConfig.Compression compression,
      PgsidecarConfig.Encryption encryption) {
    List<Codec> encoders = new ArrayList<>();
    ZstdCodec zstd = switch (compression.algorithm()) {
      case "zstd" -> new ZstdCodec(compression.level(), compression.workers());
      case "none" -> null;
      default -> throw new IllegalArgumentException("compression.algorithm '"
          + compression.algorithm() + "' is not supported: use zstd or none");
    };
    if (zstd != null) {
      encoders.add(zstd);
    }
    PgpCodec pgp = encryption == null ? PgpCodec.none() : PgpCodec.fromConfig(encryption);
    if (pgp.canEncrypt()) {
      encoders.add(pgp);
    }
    return new ChainPipeline(encoders, Map.of(
        ZstdCodec.NAME, zstd != null ? zstd : new ZstdCodec(DEFAULT_LEVEL, 0),
        PgpCodec.NAME, pgp), pgp.canEncrypt() ? pgp.keyFingerprint() : "");
  }

  /** No compression, no encryption; reads zstd objects too (not encrypted ones). For tests. */
  public static CodecPipeline plain() {
    return new ChainPipeline(List.of(), decodeOnly(), "");
  }

  /** zstd at {@code level}, single-threaded, no encryption. */
  public static CodecPipeline zstd(int level) {
    ZstdCodec zstd = new ZstdCodec(level, 0);
    return new ChainPipeline(List.of(zstd), decodeOnly(), "");
  }

  private static Map<String, Codec> decodeOnly() {
    return Map.of(ZstdCodec.NAME, new ZstdCodec(DEFAULT_LEVEL, 0), PgpCodec.NAME, PgpCodec.none());
  }
}
