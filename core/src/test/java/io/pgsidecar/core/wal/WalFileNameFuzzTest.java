package io.pgsidecar.core.wal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.Fuzz;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Seeded random WAL file names: valid ones of every kind round-trip through {@link WalFileName},
 * and mutations of them (lower-case hex, timeline 0, wrong lengths, other suffixes, path
 * separators, NUL, newlines, non-ASCII digits, very long names) are accepted exactly when an
 * independent reading of PostgreSQL's naming rules says so; every refusal is an
 * {@link IllegalArgumentException} whose message quotes the input (escaped, cut when long),
 * never another exception. Replay with {@code -Dpgsidecar.fuzz.seed=N}.
 */
class WalFileNameFuzzTest {

  private static final long SEED = Fuzz.seed(WalFileNameFuzzTest.class);

  /** PostgreSQL's own forms, read independently of the class under test. */
  static boolean postgresWouldWrite(String n) {
    return switch (n.length()) {
      case 24 -> segment(n);
      case 16 -> n.endsWith(".history") && hex(n, 0, 8) && !n.startsWith("00000000");
      case 32 -> n.endsWith(".partial") && segment(n.substring(0, 24));
      case 40 -> n.endsWith(".backup") && n.charAt(24) == '.' && hex(n, 25, 33) && segment(n.substring(0, 24));
      default -> false;
    };
  }

  private static boolean segment(String n) {
    return hex(n, 0, 24) && !n.startsWith("00000000") && n.startsWith("000000", 16);
  }

  private static boolean hex(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
        return false;
      }
    }
    return true;
  }

  private static long edgy(Random r, long max) {
    return switch (r.nextInt(4)) {
      case 0 -> 0;
      case 1 -> max;
      case 2 -> 1 + r.nextInt(3);
      default -> (r.nextLong() & Long.MAX_VALUE) % (max + 1);
    };
  }

  private static String validName(Random r) {
    long tli = Math.max(1, edgy(r, 0xFFFF_FFFFL));
    String seg = String.format(Locale.ROOT, "%08X%08X%08X", tli, edgy(r, 0xFFFF_FFFFL), edgy(r, 0xFF));
    return switch (r.nextInt(4)) {
      case 0 -> seg;
      case 1 -> String.format(Locale.ROOT, "%08X.history", tli);
      case 2 -> seg + ".partial";
      default -> seg + String.format(Locale.ROOT, ".%08X.backup", edgy(r, 0xFFFF_FFFFL));
    };
  }

  @Test
  void validNamesOfEveryKindRoundTrip() {
    Random r = new Random(SEED);
    for (int i = 0; i < 20_000; i++) {
      String name = validName(r);
      WalFileName w = WalFileName.parse(name);
      assertEquals(name, w.name(), name);
      assertEquals(name, w.toString());
      if (w.kind() == WalFileName.Kind.HISTORY) {
        assertEquals(Long.parseLong(name.substring(0, 8), 16), w.timeline(), name);
        continue;
      }
      assertEquals(name.substring(0, 24), w.segmentName(), name);
      WalFileName seg = WalFileName.segment(w.timeline(), w.log(), w.segment());
      assertEquals(w.segmentName(), seg.name(), name);
      assertEquals(seg, WalFileName.parse(seg.name()), name);
      if (w.log() == 0xFFFF_FFFFL && w.segment() == 0xFF) {
        var e = assertThrows(IllegalStateException.class, seg::next);
        assertEquals(seg.name() + " is the last segment a timeline can have; there is no next one",
            e.getMessage());
      } else {
        WalFileName next = seg.next();
        assertEquals(next, WalFileName.parse(next.name()), name);
        assertEquals(WalFileName.SEGMENT_SIZE, next.startLsn().value() - seg.startLsn().value(), name);
      }
    }
  }

  private static final String[] INSERTS = {"/", "\\", "\0", "\n", "\r", " ", ".", "..", "G", "a", "f",
      "0", "\u0663", "\uff10", "\uff21", "\u00e9", "\ud83d\ude00", "%2F", "\t", "\u2028"};
  private static final String[] SUFFIXES = {".partial", ".history", ".backup", ".00000028.backup",
      ".ready", ".done", ".PARTIAL", ".partial.partial", "/", ".zst", "\0", "\n"};
  private static final String[] PREFIXES = {"../", "/", "pg_wal/", "./", "archive_status/", "\0", " "};

  /** A valid name damaged in one to three ways. */
  private static String mutate(Random r, String name) {
    String n = name;
    for (int k = 0, times = 1 + r.nextInt(3); k < times; k++) {
      int at = n.isEmpty() ? 0 : r.nextInt(n.length());
      n = switch (r.nextInt(10)) {
        case 0 -> n.toLowerCase(Locale.ROOT);
        case 1 -> n.isEmpty() ? n : n.substring(0, at) + n.substring(at + 1); // one short
        case 2 -> n.substring(0, at) + INSERTS[r.nextInt(INSERTS.length)] + n.substring(at); // inserted
        case 3 -> n.isEmpty() ? n : n.substring(0, at) + INSERTS[r.nextInt(INSERTS.length)] + n.substring(at + 1);
        case 4 -> n + SUFFIXES[r.nextInt(SUFFIXES.length)];
        case 5 -> PREFIXES[r.nextInt(PREFIXES.length)] + n;
        case 6 -> n.length() >= 8 ? "00000000" + n.substring(8) : n; // timeline 0
        case 7 -> n.substring(0, at);
        case 8 -> n.repeat(1 + r.nextInt(r.nextInt(20) == 0 ? 5000 : 3));
        default -> n.length() >= 24 ? n.substring(0, 16) + String.format("%08X", 0x100 + r.nextInt(1 << 20))
            + n.substring(24) : n; // segment number > FF
      };
    }
    return n;
  }

  /** Null when {@code name} is handled as the contract says, else what went wrong. */
  static String violation(String name) {
    boolean valid = postgresWouldWrite(name);
    try {
      WalFileName w = WalFileName.parse(name);
      if (!valid) {
        return "accepted, but PostgreSQL never writes such a name";
      }
      return w.name().equals(name) && WalFileName.isValid(name) ? null : "did not round-trip: " + w.name();
    } catch (IllegalArgumentException e) {
      String m = e.getMessage();
      if (valid) {
        return "refused a name PostgreSQL writes: " + m;
      }
      if (WalFileName.isValid(name)) {
        return "isValid disagrees with parse";
      }
      String shown = name.length() > 64 ? name.substring(0, 8) : name;
      boolean quotesInput = m.startsWith("'" + escape(shown));
      if (!quotesInput || !m.contains("is not a WAL file name") || m.length() > 400
          || m.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
        return "refused without a clear message naming the input: " + Fuzz.literal(m);
      }
      return null;
    } catch (RuntimeException | Error e) {
      return "threw " + e;
    }
  }

  private static String escape(String s) {
    StringBuilder sb = new StringBuilder();
    s.chars().forEach(c -> sb.append(c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028
        || c == 0x2029 ? String.format("\\x%02X", c) : String.valueOf((char) c)));
    return sb.toString();
  }

  @Test
  void mutatedNamesAreAcceptedExactlyWhenPostgresWouldWriteThemAndOtherwiseRefusedClearly() {
    Random r = new Random(SEED + 1);
    int refused = 0;
    for (int i = 0; i < 50_000; i++) {
      String name = mutate(r, validName(r));
      String problem = violation(name);
      if (problem != null) {
        Predicate<String> fails = n -> violation(n) != null;
        String minimal = Fuzz.shrink(name, fails);
        throw new AssertionError("seed " + SEED + " case " + i + ": " + Fuzz.literal(name) + " "
            + problem + "\nminimal failing input: " + Fuzz.literal(minimal) + " " + violation(minimal));
      }
      refused += postgresWouldWrite(name) ? 0 : 1;
    }
    assertTrue(refused > 40_000, "most mutations break a name: " + refused);
  }

  @Test
  void randomTextIsRefusedClearly() {
    Random r = new Random(SEED + 2);
    for (int i = 0; i < 20_000; i++) {
      StringBuilder sb = new StringBuilder();
      for (int k = 0, len = r.nextInt(r.nextInt(50) == 0 ? 100_000 : 45); k < len; k++) {
        sb.append(r.nextInt(3) == 0 ? (char) r.nextInt(0x3000) : "0123456789ABCDEF.hpartil/"
            .charAt(r.nextInt(25)));
      }
      String name = sb.toString();
      String problem = violation(name);
      assertEquals(null, problem, () -> "seed " + SEED + " case: " + Fuzz.literal(name));
    }
    var e = assertThrows(IllegalArgumentException.class, () -> WalFileName.parse(null));
    assertEquals("null is not a WAL file name", e.getMessage());
  }

  @Test
  void segmentsOutsideTheirRangesAreRefusedNamingTheNumber() {
    Random r = new Random(SEED + 3);
    List<long[]> bad = List.of(new long[] {0, 0, 0}, new long[] {-1, 0, 0},
        new long[] {0x1_0000_0000L, 0, 0}, new long[] {1, -1, 0}, new long[] {1, 0x1_0000_0000L, 0},
        new long[] {1, 0, 0x100}, new long[] {1, 0, -1}, new long[] {Long.MIN_VALUE, Long.MAX_VALUE, 0});
    for (long[] b : bad) {
      var e = assertThrows(IllegalArgumentException.class, () -> WalFileName.segment(b[0], b[1], b[2]));
      String m = e.getMessage();
      assertTrue(m.startsWith("timeline " + b[0] + " is outside 1..4294967295")
          || m.startsWith("log id " + b[1] + " is outside 0..4294967295")
          || m.startsWith("segment number " + b[2] + " is outside 0..255"), m);
    }
    for (int i = 0; i < 20_000; i++) {
      long tli = r.nextInt(4) == 0 ? r.nextLong() : edgy(r, 0xFFFF_FFFFL);
      long log = r.nextInt(4) == 0 ? r.nextLong() : edgy(r, 0xFFFF_FFFFL);
      long seg = r.nextInt(4) == 0 ? r.nextInt() : edgy(r, 0xFF);
      boolean inRange = tli >= 1 && tli <= 0xFFFF_FFFFL && log >= 0 && log <= 0xFFFF_FFFFL && seg >= 0 && seg <= 0xFF;
      try {
        WalFileName w = WalFileName.segment(tli, log, seg);
        assertTrue(inRange, "accepted " + tli + "/" + log + "/" + seg);
        assertEquals(w, WalFileName.parse(w.name()));
      } catch (IllegalArgumentException e) {
        assertTrue(!inRange, "refused " + tli + "/" + log + "/" + seg + ": " + e.getMessage());
      }
    }
  }
}
