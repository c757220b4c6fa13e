package io.pgsidecar.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.retention.RetentionPolicy;
import io.pgsidecar.core.retention.RetentionPolicy.Gfs;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RetentionConfigTest {

  private static Map<String, String> env(String... kv) {
    Map<String, String> m = new HashMap<>(Map.of("PGSIDECAR_CLUSTER", "main",
        "PGSIDECAR_STORAGE_PATH", "/repo"));
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  @Test
  void retentionIsOffUnlessARuleIsSet() {
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), env());
    assertEquals(RetentionPolicy.none(), c.retention());
    assertFalse(c.retention().isSet());
    assertEquals(Optional.empty(), c.schedule().retention());
  }

  @Test
  void everyRetentionKeyIsReadFromTheEnvironment() {
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), env(
        "PGSIDECAR_RETENTION_BASE_BACKUPS_KEEP_NEWEST", "2",
        "PGSIDECAR_RETENTION_BASE_BACKUPS_WINDOW", "14d",
        "PGSIDECAR_RETENTION_BASE_BACKUPS_GFS_DAILY", "7",
        "PGSIDECAR_RETENTION_BASE_BACKUPS_GFS_WEEKLY", "4",
        "PGSIDECAR_RETENTION_BASE_BACKUPS_GFS_MONTHLY", "6",
        "PGSIDECAR_RETENTION_BASE_BACKUPS_GFS_YEARLY", "1",
        "PGSIDECAR_RETENTION_DUMPS_KEEP_NEWEST", "3",
        "PGSIDECAR_RETENTION_ORPHAN_AGE", "2d",
        "PGSIDECAR_SCHEDULE_RETENTION", "30 4 * * *"));
    assertEquals(new RetentionPolicy(new KindPolicy(2, Optional.of(Duration.ofDays(14)), new Gfs(7, 4, 6, 1)),
        new KindPolicy(3, Optional.empty(), Gfs.NONE), Duration.ofDays(2)), c.retention());
    assertTrue(c.retention().isSet());
    assertEquals(Optional.of("30 4 * * *"), c.schedule().retention());
    assertEquals("keep-newest 2, window 14d, gfs daily 7 weekly 4 monthly 6 yearly 1",
        c.retention().baseBackups().describe());
  }

  @Test
  void aZeroDurationAndAZeroCountAreRefusedWithTheKeyName() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
        env("PGSIDECAR_RETENTION_ORPHAN_AGE", "0d", "PGSIDECAR_RETENTION_DUMPS_KEEP_NEWEST", "0")));
    assertTrue(e.getMessage().contains("retention.dumps.keep-newest"), e.getMessage());
    ConfigException z = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
        env("PGSIDECAR_RETENTION_ORPHAN_AGE", "0d")));
    assertTrue(z.getMessage().contains("retention.orphan-age is 0: it must be a positive duration such as"
        + " 14d; unset it for the default (3d)"), z.getMessage());
  }
}
