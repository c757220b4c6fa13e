package io.pgsidecar.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigPrinterTest {

  @TempDir Path dir;

  @Test
  void printedConfigLoadsBackIntoTheSameConfig() throws IOException {
    PgsidecarConfig original = ConfigLoader.load(Optional.empty(), Map.ofEntries(
        Map.entry("PGSIDECAR_CLUSTER", "main"), Map.entry("PGSIDECAR_STORAGE_TYPE", "azure"),
        Map.entry("PGSIDECAR_STORAGE_PREFIX", "team/pg"),
        Map.entry("PGSIDECAR_STORAGE_AZURE_ACCOUNT", "acct1"),
        Map.entry("PGSIDECAR_STORAGE_AZURE_CONTAINER", "backups"),
        Map.entry("PGSIDECAR_STORAGE_AZURE_AUTH", "workload-identity"),
        Map.entry("PGSIDECAR_STORAGE_AZURE_BLOCK_SIZE", "1536KiB"),
        Map.entry("PGSIDECAR_ENCRYPTION_PUBLIC_KEYS", "/k/a.asc,/k/b.asc"),
        Map.entry("PGSIDECAR_DUMP_INCLUDE", "app"),
        Map.entry("PGSIDECAR_SCHEDULE_BASE_BACKUP", "0 3 * * *"),
        Map.entry("PGSIDECAR_SCHEDULE_TIMEZONE", "Europe/Paris"),
        Map.entry("PGSIDECAR_HTTP_TCP_PORT", "8008"), Map.entry("PGSIDECAR_HTTP_TOKEN_FILE", "/t"),
        Map.entry("PGSIDECAR_BACKUP_WAL_WAIT_TIMEOUT", "90s")));
    Path f = dir.resolve("shown.yaml");
    Files.writeString(f, ConfigPrinter.yaml(original));
    assertEquals(original, ConfigLoader.load(Optional.of(f), Map.of()));
  }

  @Test
  void printsTheShapeOfTheConfigFile() {
    String yaml = ConfigPrinter.yaml(ConfigLoader.load(Optional.empty(),
        Map.of("PGSIDECAR_CLUSTER", "main", "PGSIDECAR_STORAGE_PATH", "/repo")));
    assertTrue(yaml.startsWith("cluster: main\npgdata: /var/lib/postgresql/data/pgdata\n"), yaml);
    assertTrue(yaml.contains("""
          azure:
            auth: default
            connection-string: null
        """), yaml);
    assertTrue(yaml.contains("    block-size: 8MiB\n    concurrency: 4\n"), yaml);
    assertTrue(yaml.contains("metrics:\n  port: 9187\n  host: 0.0.0.0\n"), yaml);
    assertTrue(yaml.contains("  spool-max-size: 1GiB\n"), yaml);
    assertTrue(yaml.contains("  public-keys: []\n"), yaml);
  }

  @Test
  void secretsAreRedacted() {
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "main",
        "PGSIDECAR_STORAGE_TYPE", "azure", "PGSIDECAR_STORAGE_AZURE_CONTAINER", "backups",
        "PGSIDECAR_STORAGE_AZURE_AUTH", "connection-string",
        "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING", "AccountName=a;AccountKey=SECRETKEY",
        "PGPASSWORD", "PGSECRET"));
    String yaml = ConfigPrinter.yaml(c);
    assertTrue(yaml.contains("    connection-string: <redacted>\n"), yaml);
    assertTrue(yaml.contains("  password: <redacted>\n"), yaml);
    assertFalse(yaml.contains("SECRETKEY") || yaml.contains("PGSECRET"), yaml);
  }
}
