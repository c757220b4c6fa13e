package io.pgsidecar.core.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LsnTest {

  @Test
  void parsesAndPrintsPostgresNotation() {
    Lsn lsn = Lsn.parse("0/3000028");
    assertEquals(0x3000028L, lsn.value());
    assertEquals("0/3000028", lsn.toString());
    assertEquals("16/B374D848", Lsn.parse("16/b374d848").toString());
  }

  @Test
  void comparesUnsigned() {
    assertTrue(Lsn.parse("FFFFFFFF/0").isAfter(Lsn.parse("1/0")));
    assertTrue(Lsn.parse("0/3000028").compareTo(Lsn.parse("0/3000029")) < 0);
    assertEquals(0, Lsn.parse("1/0").compareTo(Lsn.parse("1/00000000")));
  }

  @Test
  void segmentContainingAnLsn() {
    assertEquals("000000010000000000000003", Lsn.parse("0/3000028").segmentOn(1).name());
    assertEquals("000000020000001600000000", Lsn.parse("16/0").segmentOn(2).name());
    assertEquals("0000000100000001000000FF", Lsn.parse("1/FFFFFFFF").segmentOn(1).name());
  }

  @Test
  void malformedLsnIsRefusedWithTheExpectedForm() {
    var e = assertThrows(IllegalArgumentException.class, () -> Lsn.parse("3000028"));
    assertEquals("'3000028' is not an LSN: expected two hex numbers of at most 8 digits joined by"
        + " '/', e.g. 0/3000028", e.getMessage());
  }
}
