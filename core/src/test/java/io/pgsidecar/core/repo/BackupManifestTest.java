package io.pgsidecar.core.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackupManifestTest {

  static BackupManifest sample() {
    return new BackupManifest(1, "20261122T021500Z", "nightly", "db1", "7312345678901234567",
        150010, 1, "0/2000028", "0/2000100", Instant.parse("2026-11-22T02:15:00Z"),
        Instant.parse("2026-11-22T02:16:30.5Z"), 180_000_000L, 20_000_000L, "aa", "bb", "zstd",
        "", "db1/base/20261122T021500Z/data.tar.zst", "0.1.0", "000000010000000000000002",
        "000000010000000000000002");
  }

  @Test
  void fieldNamesAreTheStoredFormat() throws Exception {
    JsonNode json = BackupManifest.mapper().readTree(sample().toJson());
    List<String> names = new ArrayList<>();
    json.fieldNames().forEachRemaining(names::add);
    assertEquals(List.of("formatVersion", "id", "label", "cluster", "systemIdentifier",
        "pgVersion", "timeline", "startLsn", "stopLsn", "startTime", "stopTime", "rawSize",
        "storedSize", "storedSha256", "plainSha256", "codec", "keyFingerprint", "dataKey",
        "agentVersion", "walStartSegment", "walStopSegment"), names);
    assertEquals("2026-11-22T02:16:30.500Z", json.get("stopTime").asText());
    assertEquals("7312345678901234567", json.get("systemIdentifier").asText());
  }

  @Test
  void roundTripsAndIgnoresUnknownFields() throws Exception {
    String json = new String(sample().toJson(), StandardCharsets.UTF_8)
        .replace("\"id\"", "\"addedLater\" : 5,\n  \"id\"");
    assertEquals(sample(), BackupManifest.fromJson(json.getBytes(StandardCharsets.UTF_8), "k"));
  }

  @Test
  void newerFormatIsRefusedWithAHint() {
    String json = new String(sample().toJson(), StandardCharsets.UTF_8)
        .replace("\"formatVersion\" : 1", "\"formatVersion\" : 2");
    var e = assertThrows(java.io.IOException.class,
        () -> BackupManifest.fromJson(json.getBytes(StandardCharsets.UTF_8), "db1/base/x/backup.json"));
    assertEquals("db1/base/x/backup.json has format version 2, newer than this program reads (1); "
        + "upgrade pgsidecar", e.getMessage());
  }
}
