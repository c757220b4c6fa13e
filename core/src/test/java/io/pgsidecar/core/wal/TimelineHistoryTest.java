package io.pgsidecar.core.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TimelineHistoryTest {

  @Test
  void readsWhatPostgresWritesOldestFirstSkippingCommentsAndBlankLines() {
    String text = "# comment\n1\t0/5000000\tno recovery target specified\n\n"
        + "2\t0/A0000A8\tat restore point \"x\"\n";
    TimelineHistory h = TimelineHistory.parse(3, text.getBytes(StandardCharsets.UTF_8),
        "wal/00000003.history");
    assertEquals(List.of(new TimelineHistory.Switch(1, Lsn.parse("0/5000000")),
        new TimelineHistory.Switch(2, Lsn.parse("0/A0000A8"))), h.ancestors());
    assertEquals(new TimelineHistory.Switch(2, Lsn.parse("0/A0000A8")), h.parent());
    assertEquals(Optional.of(Lsn.parse("0/5000000")), h.leftAt(1));
    assertEquals(Optional.empty(), h.leftAt(3));
  }

  @Test
  void aDamagedLineIsNamedWithTheFile() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TimelineHistory.parse(2, "1 not-an-lsn reason\n", "wal/00000002.history"));
    assertEquals("timeline history file wal/00000002.history has a line that is not"
        + " 'parentTLI switchpoint reason': '1 not-an-lsn reason'", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> TimelineHistory.parse(2, "1\n", "wal/00000002.history"));
    assertEquals("timeline history file wal/00000002.history has a line that is not"
        + " 'parentTLI switchpoint reason': '1'", e.getMessage());
  }

  @Test
  void aFileWithoutAnyParentIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TimelineHistory.parse(2, "# only a comment\n\n", "wal/00000002.history"));
    assertEquals("timeline history file wal/00000002.history names no parent timeline",
        e.getMessage());
  }
}
