package io.pgsidecar.core.storage.azure;

import io.pgsidecar.core.storage.ObjectMetadata;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Azure metadata names must be C# identifiers, so the contract's dashed names
 * ({@code plain-sha256}) are stored with underscores ({@code plain_sha256}) and mapped back on
 * read. The contract allows only lower-case words joined by dashes, so the mapping is lossless.
 */
final class MetadataNames {

  private MetadataNames() {}

  static Map<String, String> toAzure(ObjectMetadata meta) {
    Map<String, String> out = new LinkedHashMap<>();
    meta.toMap().forEach((k, v) -> out.put(k.replace('-', '_'), v));
    return out;
  }

  static ObjectMetadata fromAzure(Map<String, String> stored) {
    Map<String, String> in = new LinkedHashMap<>();
    if (stored != null) {
      stored.forEach((k, v) -> in.put(k.replace('_', '-'), v));
    }
    return ObjectMetadata.fromMap(in);
  }
}
