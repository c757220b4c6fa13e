package io.pgsidecar.core.repo;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Objects;

/**
 * The {@code base/<id>/backup.json} record: written last, so a base backup exists exactly when
 * this object does. The restore path reads it to pick a backup and to find and check its data.
 *
 * <p>The JSON field names are a stored format: never rename one; add fields instead (readers
 * ignore unknown fields) and raise {@link #FORMAT_VERSION} only for an incompatible change.
 *
 * @param formatVersion layout of this record, {@value #FORMAT_VERSION} today
 * @param id backup id, e.g. {@code 20261122T021500Z} or {@code 20261122T021500Z-1} (see {@link BackupIds})
 * @param label free text given by whoever asked for the backup ("" when none, "scheduled" for the scheduler)
 * @param cluster the repository's cluster name the backup was written under
 * @param systemIdentifier database system identifier ({@code pg_control_system()}), decimal text
 * @param pgVersion {@code server_version_num} of the server, e.g. 150010
 * @param timeline timeline of the stop LSN (from the tar's {@code backup_manifest} WAL-Ranges)
 * @param startLsn first WAL position replay must start from, PostgreSQL text form {@code 0/2000028}
 * @param stopLsn WAL position a restore must reach before the data is consistent
 * @param startTime when the agent started pg_basebackup (UTC, ISO-8601)
 * @param stopTime when the data object was stored (UTC, ISO-8601); the WAL wait comes after
 * @param rawSize bytes of the plain tar stream pg_basebackup produced
 * @param storedSize bytes of the stored (compressed, maybe encrypted) data object
 * @param storedSha256 SHA-256 (hex, lower case) of the stored bytes of the data object
 * @param plainSha256 SHA-256 (hex, lower case) of the plain tar stream
 * @param codec codec chain of the data object: {@code zstd}, {@code zstd+pgp}, {@code none}...
 * @param keyFingerprint fingerprint of the encryption key, "" when not encrypted
 * @param dataKey full storage key of the data object, e.g. {@code db1/base/<id>/data.tar.zst}
 * @param agentVersion version of the agent that wrote the backup
 * @param walStartSegment WAL file name holding {@code startLsn} (first one a restore needs)
 * @param walStopSegment WAL file name holding the last byte before {@code stopLsn}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonPropertyOrder({"formatVersion", "id", "label", "cluster", "systemIdentifier", "pgVersion",
    "timeline", "startLsn", "stopLsn", "startTime", "stopTime", "rawSize", "storedSize",
    "storedSha256", "plainSha256", "codec", "keyFingerprint", "dataKey", "agentVersion",
    "walStartSegment", "walStopSegment"})
public record BackupManifest(
    int formatVersion,
    String id,
    String label,
    String cluster,
    String systemIdentifier,
    int pgVersion,
    long timeline,
    String startLsn,
    String stopLsn,
    Instant startTime,
    Instant stopTime,
    long rawSize,
    long storedSize,
    String storedSha256,
    String plainSha256,
    String codec,
    String keyFingerprint,
    String dataKey,
    String agentVersion,
    String walStartSegment,
    String walStopSegment) {

  public static final int FORMAT_VERSION = 1;

  private static final ObjectMapper MAPPER = new ObjectMapper()
      .registerModule(new SimpleModule("instant-as-iso")
          .addSerializer(Instant.class, new InstantSerializer())
          .addDeserializer(Instant.class, new InstantDeserializer()))
      .enable(SerializationFeature.INDENT_OUTPUT);

  public BackupManifest {
    Objects.requireNonNull(id, "id");
    label = label == null ? "" : label;
    codec = codec == null ? "" : codec;
    keyFingerprint = keyFingerprint == null ? "" : keyFingerprint;
  }

  /** The JSON stored as {@code backup.json} (UTF-8, indented, fields in declaration order). */
  public byte[] toJson() {
    try {
      return MAPPER.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Reads a stored {@code backup.json}. {@code key} only names the object in the error raised on
   * malformed content.
   */
  public static BackupManifest fromJson(byte[] json, String key) throws IOException {
    try {
      BackupManifest m = MAPPER.readValue(json, BackupManifest.class);
      if (m.formatVersion() > FORMAT_VERSION) {
        throw new IOException(key + " has format version " + m.formatVersion()
            + ", newer than this program reads (" + FORMAT_VERSION + "); upgrade pgsidecar");
      }
      return m;
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IOException("cannot read backup manifest " + key + ": " + e.getOriginalMessage(), e);
    }
  }

  /** The mapper used for {@code backup.json}; shared so HTTP answers use the same field format. */
  public static ObjectMapper mapper() {
    return MAPPER;
  }

  private static final class InstantSerializer extends JsonSerializer<Instant> {
    @Override
    public void serialize(Instant value, JsonGenerator gen, SerializerProvider serializers)
        throws IOException {
      gen.writeString(value.toString());
    }
  }

  private static final class InstantDeserializer extends JsonDeserializer<Instant> {
    @Override
    public Instant deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      return Instant.parse(p.getValueAsString());
    }
  }
}
