package io.pgsidecar.core.storage;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What every stored object says about its plain content: SHA-256 and size before any codec, the
 * codec chain that was applied (e.g. {@code zstd}, {@code zstd+pgp}) and the fingerprint of the
 * key that encrypted it (empty when not encrypted). Extra entries are free-form.
 */
public record ObjectMetadata(
    String plainSha256, long plainSize, String codec, String keyFingerprint,
    Map<String, String> extra) {

  public static final String PLAIN_SHA256 = "plain-sha256";
  public static final String PLAIN_SIZE = "plain-size";
  public static final String CODEC = "codec";
  public static final String KEY_FINGERPRINT = "key-fingerprint";

  public ObjectMetadata {
    Objects.requireNonNull(plainSha256, "plainSha256");
    Objects.requireNonNull(codec, "codec");
    keyFingerprint = keyFingerprint == null ? "" : keyFingerprint;
    extra = extra == null ? Map.of() : Map.copyOf(extra);
  }

  public ObjectMetadata(String plainSha256, long plainSize, String codec, String keyFingerprint) {
    this(plainSha256, plainSize, codec, keyFingerprint, Map.of());
  }

  /** The flat map a driver stores. */
  public Map<String, String> toMap() {
    Map<String, String> m = new LinkedHashMap<>(extra);
    m.put(PLAIN_SHA256, plainSha256);
    m.put(PLAIN_SIZE, Long.toString(plainSize));
    m.put(CODEC, codec);
    m.put(KEY_FINGERPRINT, keyFingerprint);
    return m;
  }

  /** Reads back what {@link #toMap()} wrote; tolerant of drivers that change key case. */
  public static ObjectMetadata fromMap(Map<String, String> stored) {
    Map<String, String> m = new LinkedHashMap<>();
    stored.forEach((k, v) -> m.put(k.toLowerCase(java.util.Locale.ROOT), v));
    String sha = m.remove(PLAIN_SHA256);
    String size = m.remove(PLAIN_SIZE);
    String codec = m.remove(CODEC);
    String fpr = m.remove(KEY_FINGERPRINT);
    return new ObjectMetadata(sha == null ? "" : sha, size == null ? -1 : Long.parseLong(size),
        codec == null ? "" : codec, fpr, m);
  }
}
