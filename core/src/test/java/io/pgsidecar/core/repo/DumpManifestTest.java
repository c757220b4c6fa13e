package io.pgsidecar.core.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class DumpManifestTest {

  static final DumpManifest MANIFEST = new DumpManifest(1, "20261122T021500Z", "monthly", "db1",
      "15.8", "2026-11-22T02:15:00Z", "2026-11-22T02:16:40Z",
      new DumpManifest.Entry("globals", "db1/dumps/20261122T021500Z/globals.sql.zst", 900, 400,
          "aa", "zstd", ""),
      List.of(new DumpManifest.Entry("shop", "db1/dumps/20261122T021500Z/shop.dump.zst", 1000,
          300, "bb", "zstd", "")),
      "0.1.0");

  @Test
  void roundTripsThroughJsonAndIgnoresFieldsOfNewerVersions() throws IOException {
    assertEquals(MANIFEST, DumpManifest.fromJson(MANIFEST.toJson(), "k"));
    String newer = new String(MANIFEST.toJson(), StandardCharsets.UTF_8)
        .replaceFirst("\\{", "{\"futureField\": 1,");
    assertEquals(MANIFEST, DumpManifest.fromJson(newer.getBytes(StandardCharsets.UTF_8), "k"));
  }

  @Test
  void sizesAddUpGlobalsAndDatabases() {
    assertEquals(1900, MANIFEST.rawSize());
    assertEquals(700, MANIFEST.storedSize());
    assertEquals(100, MANIFEST.stop().getEpochSecond() - MANIFEST.start().getEpochSecond());
    assertTrue(MANIFEST.database("shop").isPresent());
  }

  @Test
  void aDamagedFileIsNamedInTheError() {
    IOException e = assertThrows(IOException.class,
        () -> DumpManifest.fromJson("{".getBytes(StandardCharsets.UTF_8), "c/dumps/x/dump.json"));
    assertTrue(e.getMessage().startsWith("cannot read dump manifest c/dumps/x/dump.json: "),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("(the file is not a pgsidecar dump.json or is damaged)"),
        e.getMessage());
  }
}
