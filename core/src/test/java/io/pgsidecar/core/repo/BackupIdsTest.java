package io.pgsidecar.core.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackupIdsTest {

  private static final Instant T = Instant.parse("2026-11-22T02:15:00.789Z");

  @Test
  void idIsTheUtcStartSecond() throws Exception {
    assertEquals("20261122T021500Z", BackupIds.next(T, id -> false));
  }

  @Test
  void takenIdsGetNumberedSuffixes() throws Exception {
    Set<String> taken = Set.of("20261122T021500Z", "20261122T021500Z-1");
    assertEquals("20261122T021500Z-2", BackupIds.next(T, taken::contains));
  }

  @Test
  void idsSortByTimeThenNumericSuffix() {
    List<String> ids = new ArrayList<>(List.of("20261122T021500Z-10", "20261123T000000Z",
        "20261122T021500Z-2", "20261122T021500Z"));
    ids.sort(BackupIds.ORDER);
    assertEquals(List.of("20261122T021500Z", "20261122T021500Z-2", "20261122T021500Z-10",
        "20261123T000000Z"), ids);
  }

  @Test
  void onlyWellFormedIdsAreValid() {
    assertTrue(BackupIds.isValid("20261122T021500Z"));
    assertTrue(BackupIds.isValid("20261122T021500Z-3"));
    assertFalse(BackupIds.isValid("../wal"));
    assertFalse(BackupIds.isValid("20261122T021500Z/../x"));
    assertFalse(BackupIds.isValid("20261122T021500Z-0"));
    var e = assertThrows(IllegalArgumentException.class, () -> BackupIds.requireValid("x/y"));
    assertEquals("'x/y' is not a backup id (expected like 20261122T021500Z or "
        + "20261122T021500Z-1)", e.getMessage());
  }
}
