package io.pgsidecar.core.repo;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * {@code dumps/<id>/dump.json}: the record that makes a logical dump exist. It is written last,
 * after every object it names is durable, so a dump without it is incomplete and never offered
 * for restore. Times are ISO-8601 UTC strings so the file stays readable without a time module.
 *
 * @param format version of this file's layout (1)
 * @param id time-sortable id, e.g. {@code 20261122T021500Z} or {@code 20261122T021500Z-1}
 * @param label free text given by the operator or the scheduler ("" when none)
 * @param cluster the repository cluster name the dump belongs to
 * @param serverVersion {@code server_version} of the dumped server, e.g. {@code 15.8}
 * @param globals {@code pg_dumpall --globals-only} output (roles with password hashes, tablespaces)
 * @param databases one {@code pg_dump -Fc -Z0} archive per dumped database, in dump order
 * @param agentVersion version of the agent that wrote the dump
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DumpManifest(
    int format,
    String id,
    String label,
    String cluster,
    String serverVersion,
    String startTime,
    String stopTime,
    Entry globals,
    List<Entry> databases,
    String agentVersion) {

  public static final int FORMAT = 1;

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public DumpManifest {
    Objects.requireNonNull(id, "id");
    label = label == null ? "" : label;
    databases = databases == null ? List.of() : List.copyOf(databases);
  }

  /**
   * One stored object of the dump.
   *
   * @param name database name ({@code globals} for the globals entry)
   * @param key object key in storage (database names are escaped to stay key-safe)
   * @param rawSize bytes pg_dump / pg_dumpall wrote
   * @param storedSize bytes stored after compression and encryption
   * @param plainSha256 SHA-256 (hex) of what pg_dump wrote, checked again on restore
   * @param codec codec chain applied, e.g. {@code zstd+pgp}
   * @param keyFingerprint fingerprint of the encryption key, "" when not encrypted
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Entry(String name, String key, long rawSize, long storedSize, String plainSha256,
      String codec, String keyFingerprint) {}

  public Instant start() {
    return Instant.parse(startTime);
  }

  public Instant stop() {
    return Instant.parse(stopTime);
  }

  /** Sum of the plain sizes of every object in the dump. */
  public long rawSize() {
    return (globals == null ? 0 : globals.rawSize())
        + databases.stream().mapToLong(Entry::rawSize).sum();
  }

  /** Sum of the stored sizes of every object in the dump. */
  public long storedSize() {
    return (globals == null ? 0 : globals.storedSize())
        + databases.stream().mapToLong(Entry::storedSize).sum();
  }

  /** The entry of {@code database}, or empty when the dump does not hold it. */
  public java.util.Optional<Entry> database(String database) {
    return databases.stream().filter(e -> e.name().equals(database)).findFirst();
  }

  public byte[] toJson() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialize dump manifest " + id, e);
    }
  }

  /** Parses a {@code dump.json}; {@code key} names the object in the error. */
  public static DumpManifest fromJson(byte[] json, String key) throws IOException {
    try {
      return JSON.readValue(json, DumpManifest.class);
    } catch (IOException e) {
      throw new IOException("cannot read dump manifest " + key + ": " + e.getMessage()
          + " (the file is not a pgsidecar dump.json or is damaged)", e);
    }
  }
}
