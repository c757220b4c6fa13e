package io.pgsidecar.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RestoreConfigTest {

  private static Map<String, String> env(String... kv) {
    Map<String, String> m = new HashMap<>(Map.of("PGSIDECAR_CLUSTER", "main",
        "PGSIDECAR_STORAGE_PATH", "/repo"));
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  @Test
  void restoreIsOffByDefaultAndReplaysToTheEndThroughTheDefaultWalArchiver() {
    PgsidecarConfig.Restore r = ConfigLoader.load(Optional.empty(), env()).restore();
    assertFalse(r.enabled());
    assertEquals("latest", r.backup());
    assertEquals(Optional.empty(), r.targetTime());
    assertFalse(r.targetImmediate());
    assertEquals("promote", r.targetAction());
    assertEquals("latest", r.targetTimeline());
    assertEquals("/pgsidecar/bin/wal-archiver", r.walArchiver());
    assertEquals(PgsidecarConfig.Restore.disabled(), r);
  }

  @Test
  void everyRestoreKeyIsReadFromTheEnvironment() {
    PgsidecarConfig.Restore r = ConfigLoader.load(Optional.empty(), env(
        "PGSIDECAR_RESTORE_ENABLED", "true", "PGSIDECAR_RESTORE_BACKUP", "20261122T021500Z-1",
        "PGSIDECAR_RESTORE_TARGET_LSN", "0/3000028", "PGSIDECAR_RESTORE_TARGET_EXCLUSIVE", "true",
        "PGSIDECAR_RESTORE_TARGET_ACTION", "pause", "PGSIDECAR_RESTORE_TARGET_TIMELINE", "2",
        "PGSIDECAR_RESTORE_FROM_CLUSTER", "old-db", "PGSIDECAR_RESTORE_WAL_ARCHIVER", "/x/wal-archiver",
        "PGSIDECAR_RESTORE_SOCKET", "/run/a.sock")).restore();
    assertTrue(r.enabled());
    assertEquals("20261122T021500Z-1", r.backup());
    assertEquals(Optional.of("0/3000028"), r.targetLsn());
    assertTrue(r.targetExclusive());
    assertEquals("pause", r.targetAction());
    assertEquals("2", r.targetTimeline());
    assertEquals(Optional.of("old-db"), r.fromCluster());
    assertEquals("/x/wal-archiver", r.walArchiver());
    assertEquals(Optional.of("/run/a.sock"), r.socket());
  }

  @Test
  void twoRecoveryTargetsAreRefused() {
    List<String> errors = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
        env("PGSIDECAR_RESTORE_TARGET_TIME", "2026-11-22T02:15:00Z",
            "PGSIDECAR_RESTORE_TARGET_IMMEDIATE", "true"))).errors();
    assertEquals(List.of("restore.target-time and restore.target-immediate are both set: a restore"
        + " has at most one recovery target; keep one (none replays to the end of the archive)"), errors);
  }

  @Test
  void targetImmediateFalseIsNotATarget() {
    PgsidecarConfig.Restore r = ConfigLoader.load(Optional.empty(), env(
        "PGSIDECAR_RESTORE_TARGET_XID", "1234", "PGSIDECAR_RESTORE_TARGET_IMMEDIATE", "false")).restore();
    assertEquals(Optional.of("1234"), r.targetXid());
  }

  @Test
  void badTargetValuesNameTheKeyAndTheExpectedForm() {
    List<String> errors = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
        env("PGSIDECAR_RESTORE_TARGET_LSN", "3000028", "PGSIDECAR_RESTORE_TARGET_ACTION", "stop"))).errors();
    assertEquals(2, errors.size(), errors.toString());
    assertTrue(errors.stream().anyMatch(e -> e.contains("restore.target-lsn") && e.contains("an LSN such as 0/3000028")), errors.toString());
    assertTrue(errors.stream().anyMatch(e -> e.contains("restore.target-action")), errors.toString());
  }

  @Test
  void targetTimeAcceptsTheFormsPeopleWrite() {
    for (String t : List.of("2026-11-22T02:15:00Z", "2026-11-22 02:15:00.123+01", "2026-11-22 02:15:00",
        "2026-11-22T02:15:00.5+01:00")) {
      assertEquals(Optional.of(t), ConfigLoader.load(Optional.empty(),
          env("PGSIDECAR_RESTORE_TARGET_TIME", t)).restore().targetTime(), t);
    }
  }
}
