package io.pgsidecar.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every Java file of bench/ lives in src/, where every {@code verify} (./scripts/test.sh)
 * compiles it against the current code. DumpDirect once sat beside the scripts, compiled only by
 * bench/dump.sh, and stopped compiling when a class moved without anyone noticing.
 */
class EveryBenchSourceIsCompiledTest {

  /** Surefire runs in bench/. */
  private static final Path BENCH = Path.of("").toAbsolutePath();

  @Test
  void noJavaFileOfBenchLivesOutsideSrc() throws IOException {
    assertTrue(Files.isRegularFile(BENCH.resolve("dump.sh")), "not bench/: " + BENCH);
    List<String> loose;
    try (Stream<Path> files = Files.walk(BENCH)) {
      loose = files.map(BENCH::relativize)
          .filter(p -> p.toString().endsWith(".java"))
          .filter(p -> !p.startsWith("src/main/java") && !p.startsWith("src/test/java")
              && !p.startsWith("target"))
          .map(Path::toString).sorted().toList();
    }
    assertEquals(List.of(), loose, "Java files nothing compiles: move them to bench/src/main/java"
        + " (package io.pgsidecar.bench) and run them from bench/target/classes");
  }

  /** The harnesses the scripts start are compiled classes of this module. */
  @Test
  void theScriptsStartCompiledHarnesses() throws IOException {
    for (String script : List.of("dump.sh", "backup.sh")) {
      String text = Files.readString(BENCH.resolve(script));
      assertTrue(!text.contains("javac"), script + " compiles Java itself");
      assertTrue(text.contains("bench/target/classes"), script);
    }
    for (String main : List.of("DumpDirect", "BackupAgent")) {
      assertTrue(Files.isRegularFile(BENCH.resolve("src/main/java/io/pgsidecar/bench/" + main + ".java")), main);
    }
  }
}
