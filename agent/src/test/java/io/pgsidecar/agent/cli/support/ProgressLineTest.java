package io.pgsidecar.agent.cli.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ProgressLineTest {

  private static final long S = 1_000_000_000L;
  private static final long MIB = 1L << 20;

  @Test
  void withoutATerminalAPlainLineEveryIntervalWithBytesRateAndEtaWhenTheTotalIsKnown() {
    StringWriter w = new StringWriter();
    ProgressLine p = new ProgressLine(ProgressLine.Mode.auto, new PrintWriter(w), false,
        Duration.ofSeconds(10));
    p.update("base backup X: copying", 10 * MIB, OptionalLong.empty(), Duration.ofSeconds(1), 0);
    p.update("base backup X: copying", 20 * MIB, OptionalLong.empty(), Duration.ofSeconds(2), 5 * S);
    p.update("base backup X: copying", 100 * MIB, OptionalLong.empty(), Duration.ofSeconds(10), 10 * S);
    p.update("dump verify Y", 150 * MIB, OptionalLong.of(400 * MIB), Duration.ofSeconds(15), 15 * S);
    p.update("dump verify Y", 200 * MIB, OptionalLong.of(400 * MIB), Duration.ofSeconds(20), 20 * S);
    p.finish();
    assertEquals("base backup X: copying: 100.0 MiB, 10.0 MiB/s\n"
        + "dump verify Y: 200.0 MiB, 10.0 MiB/s of 400.0 MiB (50%), ETA 20s\n", w.toString());
  }

  @Test
  void storageReadsShowBytesOfTheStoredSize() throws Exception {
    io.pgsidecar.core.storage.MemoryStorage m = new io.pgsidecar.core.storage.MemoryStorage();
    m.create("base/X/data.tar", new java.io.ByteArrayInputStream(new byte[3000]),
        () -> new io.pgsidecar.core.storage.ObjectMetadata("", 0, "none", ""));
    StringWriter w = new StringWriter();
    ProgressLine line = new ProgressLine(ProgressLine.Mode.always, new PrintWriter(w), false,
        Duration.ofSeconds(10));
    try (java.io.InputStream in = new ProgressStorage(m, "backup verify X", line)
        .open("base/X/data.tar").orElseThrow()) {
      assertEquals(3000, in.readAllBytes().length);
    }
    String shown = w.toString();
    assertTrue(shown.contains("\rbackup verify X base/X/data.tar: 2.9 KiB, "), shown);
    assertTrue(shown.contains(" of 2.9 KiB (100%)\033[K\n"), shown);
    assertTrue(shown.endsWith("\n"), shown);
  }

  @Test
  void neverPrintsNothingEvenOnATerminal() {
    StringWriter w = new StringWriter();
    ProgressLine p = new ProgressLine(ProgressLine.Mode.never, new PrintWriter(w), true,
        Duration.ofSeconds(10));
    p.update("backup verify X", MIB, OptionalLong.of(2 * MIB), Duration.ofSeconds(1), 0);
    p.finish();
    assertEquals("", w.toString());
  }

  @Test
  void onATerminalOneLineIsRedrawnAndEndedOnce() {
    StringWriter w = new StringWriter();
    ProgressLine p = new ProgressLine(ProgressLine.Mode.always, new PrintWriter(w), false,
        Duration.ofSeconds(10));
    p.update("x", 1024, OptionalLong.empty(), Duration.ofSeconds(1), 0);
    p.update("x", 2048, OptionalLong.empty(), Duration.ofSeconds(1), 1);
    p.finish();
    p.finish();
    assertEquals("\rx: 1.0 KiB, 1.0 KiB/s\033[K\rx: 2.0 KiB, 2.0 KiB/s\033[K\n", w.toString());
  }

  @Test
  void etaShowsMinutesAndHours() {
    assertEquals("x: 1.0 MiB, 1.0 MiB/s of 3.0 GiB (0%), ETA 51m11s", ProgressLine.text("x", MIB,
        OptionalLong.of(3L << 30), Duration.ofSeconds(1)));
    assertEquals("x: 1.0 MiB, 1.0 MiB/s of 8.0 GiB (0%), ETA 2h16m", ProgressLine.text("x", MIB,
        OptionalLong.of(8L << 30), Duration.ofSeconds(1)));
  }
}
