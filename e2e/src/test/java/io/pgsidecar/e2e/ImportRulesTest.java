package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The module rules that matter, checked over the main sources of every module (their imports and
 * the qualified names written in code, see {@link SourceImports}):
 * <ul>
 *   <li>core knows no HTTP server, no CLI and nothing of the modules above it;
 *   <li>protocol knows only the JDK; the WAL client (wal-archiver) only the JDK and protocol;
 *   <li>restore-init knows no agent;
 *   <li>outside the agent, code logs through System.Logger;
 *   <li>no shipped main code uses testkit;
 *   <li>no two packages of the project name each other, directly or round a longer loop.
 * </ul>
 * A failure lists every offending line as {@code file:line: text}, so the fix is one click away.
 */
class ImportRulesTest {

  private static final Path ROOT = repoRoot();

  /** The repository's root: the first directory up from here with a pom.xml naming protocol. */
  private static Path repoRoot() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      try {
        if (Files.isRegularFile(p.resolve("pom.xml"))
            && Files.readString(p.resolve("pom.xml")).contains("<module>protocol</module>")) {
          return p;
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    throw new IllegalStateException("no root pom.xml above " + Path.of("").toAbsolutePath());
  }

  @TempDir Path tmp;

  private static List<SourceImports.Ref> main(String module) {
    Path dir = ROOT.resolve(module).resolve("src/main/java");
    assertTrue(Files.isDirectory(dir), "no module sources at " + dir);
    return SourceImports.scan(dir);
  }

  /** The references of {@code refs} whose package {@code allowed} refuses, one line each. */
  private static List<String> offending(List<SourceImports.Ref> refs, Predicate<String> allowed) {
    List<String> bad = new ArrayList<>();
    for (SourceImports.Ref r : refs) {
      if (!allowed.test(r.toPackage())) {
        bad.add(r.where(ROOT) + "   (names " + r.toPackage() + ")");
      }
    }
    return bad;
  }

  private static void assertNone(String rule, List<String> bad) {
    assertTrue(bad.isEmpty(), rule + ", but:\n  " + String.join("\n  ", bad));
  }

  private static boolean under(String pkg, String prefix) {
    return pkg.equals(prefix) || pkg.startsWith(prefix + ".");
  }

  @Test
  void coreKnowsNoHttpServerNoCliAndNoModuleAboveIt() {
    assertNone("core must not use Vert.x, picocli, the agent, restore-init or the WAL client",
        offending(main("core"), p -> !under(p, "io.vertx") && !under(p, "picocli")
            && !under(p, "io.pgsidecar.agent") && !under(p, "io.pgsidecar.restoreinit")
            && !under(p, "io.pgsidecar.walarchiver")));
  }

  @Test
  void protocolKnowsOnlyTheJdk() {
    assertNone("protocol must use only java.* (it is loaded by every archive_command)",
        offending(main("protocol"), p -> under(p, "java") || under(p, "io.pgsidecar.protocol")));
  }

  @Test
  void theWalClientKnowsOnlyTheJdkAndProtocol() {
    assertNone("wal-archiver must use only java.* and io.pgsidecar.protocol",
        offending(main("wal-archiver"), p -> under(p, "java") || under(p, "io.pgsidecar.protocol")
            || under(p, "io.pgsidecar.walarchiver")));
  }

  @Test
  void restoreInitKnowsNoAgent() {
    assertNone("restore-init must not use the agent (the restore engine is core's)",
        offending(main("restore-init"), p -> !under(p, "io.pgsidecar.agent")));
  }

  /**
   * Not bench: its "main" code is a harness run by hand, never shipped, and generates its data
   * with testkit's WalLikeData as the tests do.
   */
  @Test
  void noMainCodeUsesTestkit() {
    List<String> bad = new ArrayList<>();
    for (String module : List.of("protocol", "core", "wal-archiver", "restore-init", "agent",
        "charts")) {
      bad.addAll(offending(main(module), p -> !under(p, "io.pgsidecar.testkit")));
    }
    assertNone("testkit is for tests: no main code may use it", bad);
  }

  /**
   * One logging API outside the agent: System.Logger. java.util.logging only where the Azure and
   * AWS SDKs' levels are set (the backend's knob; System.Logger has none).
   */
  @Test
  void coreRestoreWalClientAndTestkitLogThroughSystemLogger() {
    List<String> bad = new ArrayList<>();
    for (String module : List.of("protocol", "core", "wal-archiver", "restore-init", "testkit")) {
      bad.addAll(offending(main(module).stream()
          .filter(r -> !r.file().endsWith("storage/azure/AzureClients.java")
              && !r.file().endsWith("storage/s3/S3Clients.java")).toList(),
          p -> !under(p, "java.util.logging")));
    }
    assertNone("log through System.Logger, not java.util.logging", bad);
  }

  /** Per module, so that a failure names the module (a cycle across modules cannot build). */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"testkit", "protocol", "core", "wal-archiver", "restore-init", "agent",
      "bench", "charts"})
  void noPackagesFormACycle(String module) {
    List<SourceImports.Ref> refs = main(module).stream()
        .filter(r -> under(r.toPackage(), "io.pgsidecar")).toList();
    List<String> cycles = SourceImports.cycles(refs, ROOT);
    assertTrue(cycles.isEmpty(), module + ": " + cycles.size() + " package cycle(s); break each by"
        + " moving what both sides need to one of them or below both:\n  "
        + String.join("\n  ", cycles));
  }

  // ---- the checker itself, on made-up sources ------------------------------------------------

  @Test
  void importsStaticWildcardAndQualifiedNamesAreSeenCommentsAndStringsAreNot() throws IOException {
    Path f = write("a/A.java", """
        package io.pgsidecar.a;

        import static io.pgsidecar.s.S.helper;
        import io.pgsidecar.w.*;
        import io.pgsidecar.n.Outer.Inner;
        // import io.pgsidecar.comment.C;
        /* io.pgsidecar.block.B x; */
        class A {
          String s = "io.pgsidecar.string.S";
          String t = \"""
              io.pgsidecar.textblock.T
              \""";
          picocli.CommandLine.Model.CommandSpec spec;
          Object o = java.util.Arrays.asList();
          int v = this.field.CONSTANT;
        }
        """);
    List<String> named = SourceImports.scanFile(f).stream()
        .map(r -> r.line() + " " + r.toPackage()).toList();
    assertEquals(List.of("3 io.pgsidecar.s", "4 io.pgsidecar.w", "5 io.pgsidecar.n",
        "13 picocli", "14 java.util"), named);
  }

  @Test
  void aCycleIsReportedWithItsPackagesAndOneLinePerEdge() throws IOException {
    write("src/x/X.java", "package io.p.x;\nimport io.p.y.Y;\nclass X {}\n");
    write("src/y/Y.java", "package io.p.y;\n\nimport io.p.z.Z;\nclass Y {}\n");
    write("src/z/Z.java", "package io.p.z;\nclass Z { io.p.x.X back; }\n");
    write("src/w/W.java", "package io.p.w;\nimport io.p.x.X;\nclass W {}\n");
    List<String> cycles = SourceImports.cycles(SourceImports.scan(tmp.resolve("src")), tmp);
    assertEquals(List.of("""
        cycle between [io.p.x, io.p.y, io.p.z]:
            io.p.x -> io.p.y  src/x/X.java:2: import io.p.y.Y;
            io.p.y -> io.p.z  src/y/Y.java:3: import io.p.z.Z;
            io.p.z -> io.p.x  src/z/Z.java:2: class Z { io.p.x.X back; }"""), cycles);
  }

  @Test
  void packagesWithoutALoopHaveNoCycle() throws IOException {
    write("src/x/X.java", "package io.p.x;\nimport io.p.y.Y;\nclass X {}\n");
    write("src/y/Y.java", "package io.p.y;\nclass Y {}\n");
    assertEquals(List.of(), SourceImports.cycles(SourceImports.scan(tmp.resolve("src")), tmp));
  }

  private Path write(String name, String text) throws IOException {
    Path f = tmp.resolve(name);
    Files.createDirectories(f.getParent());
    return Files.writeString(f, text);
  }
}
