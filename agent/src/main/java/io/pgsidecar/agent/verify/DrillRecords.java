package io.pgsidecar.agent.verify;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Restore drill results kept in storage, one small JSON object per drill under
 * {@code <prefix>/<cluster>/drills/}, named by the drill's start time and a random suffix
 * ({@code 20261205-031500-1a2b3c4d.json}): never overwritten, listed in time order. The chart's
 * drill CronJob ({@code pgsidecar drill}) writes them and the agent reads the newest on its
 * repository refresh, so the drill meters and alerts work for a drill that ran in a short-lived
 * Job; the agent's own scheduled drills ({@code schedule.verify}) are recorded the same way.
 */
final class DrillRecords {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter NAME =
      DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  /** One stored record: its key and its fields. */
  record Stored(String key, Map<String, Object> fields) {
    Instant finishTime() {
      Object f = fields.get("finishTime");
      return f == null ? Instant.EPOCH : Instant.parse(f.toString());
    }

    boolean success() {
      return "success".equals(fields.get("result"));
    }
  }

  private final Storage storage;
  private final String root;

  DrillRecords(Storage storage, RepositoryLayout layout) {
    this.storage = storage;
    this.root = layout.root() + "drills/";
  }

  String root() {
    return root;
  }

  /**
   * Stores {@code fields} as a new record of a drill that started at {@code started}.
   *
   * @return the key it was stored under
   * @throws IOException when storage cannot take it (the caller logs it: the drill's result
   *     itself stands)
   */
  String write(Instant started, Map<String, Object> fields) throws IOException {
    byte[] json = (JSON.writeValueAsString(fields) + "\n").getBytes(
        java.nio.charset.StandardCharsets.UTF_8);
    String key = root + NAME.format(started) + "-"
        + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()) + ".json";
    storage.create(key, new ByteArrayInputStream(json),
        () -> new ObjectMetadata(sha256(json), json.length, "none", ""));
    return key;
  }

  /** The newest record, or empty when no drill was recorded. */
  Optional<Stored> newest() throws IOException {
    String last;
    try (Stream<io.pgsidecar.core.storage.ObjectInfo> s = storage.list(root)) {
      last = s.map(io.pgsidecar.core.storage.ObjectInfo::key).filter(k -> k.endsWith(".json"))
          .reduce((a, b) -> b).orElse(null);
    }
    if (last == null) {
      return Optional.empty();
    }
    Optional<InputStream> in = storage.open(last);
    if (in.isEmpty()) {
      return Optional.empty();
    }
    try (InputStream body = in.get()) {
      Map<String, Object> fields = JSON.readValue(body, new TypeReference<LinkedHashMap<String, Object>>() {});
      return Optional.of(new Stored(last, fields));
    }
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
