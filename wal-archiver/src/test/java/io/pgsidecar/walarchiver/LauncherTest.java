package io.pgsidecar.walarchiver;

import io.pgsidecar.protocol.FakeAgent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/wal-archiver, run for real in the image layout (bin/ + lib/wal-archiver.jar) against a
 * fake agent: exit codes reach the shell, the class-data archive is made once and follows the
 * jar, and a missing jar fails a fetch with 255.
 */
class LauncherTest {
  static final Path LAUNCHER = Path.of(System.getProperty("user.dir")).getParent()
      .resolve("bin/wal-archiver");
  static final String SEGMENT = "000000010000000000000003";

  @TempDir Path root;

  record Result(int exit, String stderr) {}

  /** Whether {@link #launch} lets pushes take the launcher's curl path (the Java path is tested by default). */
  boolean curl;

  Result launch(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of(root.resolve("bin/wal-archiver").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD);
    Map<String, String> env = pb.environment();
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.put("PGSIDECAR_SOCKET", root.resolve("agent.sock").toString());
    env.put("PGSIDECAR_WAIT", "1");
    env.put("PGSIDECAR_WAL_ARCHIVER_CURL", curl ? "on" : "off");
    env.remove("PGSIDECAR_JAVA");
    env.putAll(extraEnv);
    Process p = pb.start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    return new Result(p.exitValue(), err);
  }

  /** Set by a test to add to (or override) the launcher's environment. */
  final Map<String, String> extraEnv = new java.util.HashMap<>();

  /** bin/wal-archiver and the launcher library it sources (bin/lib/launch.sh) under {@code home}. */
  static void installLauncher(Path home) throws IOException {
    Files.createDirectories(home.resolve("bin/lib"));
    Files.copy(LAUNCHER, home.resolve("bin/wal-archiver"));
    Files.copy(LAUNCHER.resolveSibling("lib/launch.sh"), home.resolve("bin/lib/launch.sh"));
  }

  void installLauncherAndJar() throws IOException {
    Files.createDirectories(root.resolve("bin"));
    installLauncher(root);
    Files.createDirectories(root.resolve("lib"));
    writeJar(root.resolve("lib/wal-archiver.jar"));
  }

  /** A jar of this build's main classes. */
  static void writeJar(Path jar) throws IOException {
    Path classes = Path.of(System.getProperty("user.dir"), "target", "classes");
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
        var files = Files.walk(classes)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        out.putNextEntry(new ZipEntry(classes.relativize(f).toString()));
        Files.copy(f, out);
        out.closeEntry();
      }
    }
  }

  List<String> archives() throws IOException {
    try (var s = Files.list(root.resolve("lib"))) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("wal-archiver.jdk"))
          .sorted().toList();
    }
  }

  @Test
  void exitCodesReachTheShellAndTheClassDataArchiveFollowsTheJar() throws Exception {
    installLauncherAndJar();
    try (FakeAgent agent = FakeAgent.onSocket(root.resolve("agent.sock"), (r, out) -> {
      if (r.method().equals("POST")) {
        FakeAgent.json(out, 200, "{}");
      } else {
        FakeAgent.missing(out, r.target().substring("/v1/wal/".length()), "{\"message\":\"no\"}");
      }
    })) {
      assertEquals(new Result(0, ""), launch("push", "pg_wal/" + SEGMENT));
      List<String> first = archives();
      assertEquals(1, first.size(), first.toString());
      assertTrue(first.get(0).matches("wal-archiver\\.jdk\\d+-\\d+-\\d+\\.(aot|jsa)"), first.toString());

      Result notFound = launch("fetch", SEGMENT, root.resolve("RECOVERYXLOG").toString());
      assertEquals(1, notFound.exit());
      assertEquals("wal-archiver: fetch: " + SEGMENT + " is not in the archive (no)\n",
          notFound.stderr());
      assertEquals(255, launch("fetch", "RECOVERYXLOG", "x").exit());
      assertEquals(255, launch("fetch", SEGMENT).exit()); // restore_command without %p
      assertEquals(1, launch("push").exit());

      // A new build of the jar gets its own archive; the old one is removed.
      var built = Files.getLastModifiedTime(root.resolve("lib/wal-archiver.jar"));
      writeJar(root.resolve("lib/wal-archiver.jar"));
      try (OutputStream o = Files.newOutputStream(root.resolve("lib/wal-archiver.jar"),
          java.nio.file.StandardOpenOption.APPEND)) {
        o.write(0); // and a different size; trailing bytes after a zip are tolerated
      }
      // and a different mtime (stat's seconds), set rather than slept for
      Files.setLastModifiedTime(root.resolve("lib/wal-archiver.jar"),
          java.nio.file.attribute.FileTime.fromMillis(built.toMillis() + 2000));
      assertEquals(0, launch("push", "pg_wal/" + SEGMENT).exit());
      List<String> second = archives();
      assertEquals(1, second.size(), second.toString());
      assertTrue(!second.equals(first), second + " should replace " + first);
    }
  }

  @Test
  void aFetchWhoseJvmCannotStartExits255AndAPushOne() throws Exception {
    installLauncherAndJar();
    try (FakeAgent agent = FakeAgent.onSocket(root.resolve("agent.sock"),
        (r, out) -> FakeAgent.missing(out, SEGMENT, "{}"))) {
      extraEnv.put("PGSIDECAR_JAVA", "/nonexistent/bin/java");
      Result noJava = launch("--socket", root.resolve("agent.sock").toString(), "fetch", SEGMENT, "RECOVERYXLOG");
      assertEquals(255, noJava.exit(), noJava.stderr());
      assertEquals("wal-archiver: PGSIDECAR_JAVA=/nonexistent/bin/java is not an executable java;"
          + " point it at the java of a Java >= 21 or unset it\n", noJava.stderr());
      assertEquals(1, launch("push", "pg_wal/" + SEGMENT).exit());
      extraEnv.clear();
      // the JVM refuses to start: it exits 1 itself, which must not read as "not in the archive"
      extraEnv.put("PGSIDECAR_JAVA_OPTS", "-XX:+NoSuchOption");
      Result badJvm = launch("fetch", SEGMENT, "RECOVERYXLOG");
      assertEquals(255, badJvm.exit(), badJvm.stderr());
      assertTrue(badJvm.stderr().endsWith("wal-archiver: fetch: the Java client exited 1 (it did not"
          + " start, or died); exiting 255 so that PostgreSQL stops recovery\n"), badJvm.stderr());
      extraEnv.clear();
      assertEquals(1, launch("fetch", SEGMENT, "RECOVERYXLOG").exit()); // the real "not there"
    }
  }

  /**
   * No Java >= 21 anywhere the launcher library looks: one line says what it found where and what
   * to install; a fetch exits 255 (recovery stops), a push 1 (PostgreSQL retries).
   */
  @Test
  void withoutAJava21OrLaterTheLauncherSaysWhatItFoundAndWhatToInstall() throws Exception {
    installLauncherAndJar();
    Path jdk17 = Files.createDirectories(root.resolve("jdk17/bin"));
    Files.writeString(root.resolve("jdk17/release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"17.0.9\"\n");
    Files.writeString(jdk17.resolve("java"), "#!/bin/sh\nexit 0\n");
    Files.setPosixFilePermissions(jdk17.resolve("java"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Path jvmDir = Files.createDirectories(root.resolve("jvm"));
    Files.createSymbolicLink(jvmDir.resolve("java-17"), root.resolve("jdk17"));
    Path pathDir = Files.createDirectories(root.resolve("path"));
    Files.createSymbolicLink(pathDir.resolve("java"), jdk17.resolve("java"));
    extraEnv.put("JAVA_HOME", root.resolve("jdk17").toString());
    extraEnv.put("PGSIDECAR_JVM_DIR", jvmDir.toString());
    extraEnv.put("PATH", pathDir + ":/usr/bin:/bin");
    String expected = "wal-archiver: no Java >= 21 found: JAVA_HOME=" + root.resolve("jdk17")
        + " is Java 17; " + jvmDir + " holds Java 17 at most; java on PATH is "
        + pathDir.resolve("java") + ", Java 17. Install one (e.g. apt-get install"
        + " openjdk-21-jre-headless, or Temurin 21+) and set JAVA_HOME to it\n";
    Result fetch = launch("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(255, fetch.exit(), fetch.stderr());
    assertEquals(expected, fetch.stderr());
    Result push = launch("push", "pg_wal/" + SEGMENT);
    assertEquals(1, push.exit(), push.stderr());
    assertEquals(expected, push.stderr());
    // the same JDK at 21 is found and used (the fake java exits 0 without doing anything)
    Files.writeString(root.resolve("jdk17/release"), "JAVA_VERSION=\"21.0.5\"\n");
    extraEnv.put("PGSIDECAR_WAL_ARCHIVER_CDS", "off");
    Result found = launch("push", "pg_wal/" + SEGMENT);
    assertEquals(0, found.exit(), found.stderr());
  }

  @Test
  void worksInstalledUnderAPathWithASpaceAQuoteAndAPercentSign() throws Exception {
    Path home = Files.createDirectories(root.resolve("it's a 100% dir"));
    Files.createDirectories(home.resolve("bin"));
    installLauncher(home);
    Files.createDirectories(home.resolve("lib"));
    writeJar(home.resolve("lib/wal-archiver.jar"));
    byte[] segment = new byte[70_000];
    new java.util.Random(9).nextBytes(segment);
    Path pgdata = Files.createDirectories(root.resolve("pg data"));
    Files.createDirectories(pgdata.resolve("pg wal"));
    try (FakeAgent agent = FakeAgent.onSocket(root.resolve("agent.sock"), (r, out) -> {
      if (r.method().equals("POST")) {
        FakeAgent.json(out, 200, "{}");
      } else {
        FakeAgent.respond(out, 200, Map.of("X-Pgsidecar-Verified", "sha256"), segment);
      }
    })) {
      for (boolean withCurl : new boolean[] {false, true}) {
        curl = withCurl;
        // the documented form, as postgresql.conf holds it: the launcher's path in double quotes
        // for the shell, a literal % doubled for PostgreSQL
        String conf = "\"" + home.resolve("bin/wal-archiver").toString().replace("%", "%%")
            + "\" fetch \"%f\" \"%p\"";
        String command = substitute(conf, SEGMENT, "pg wal/RECOVERYXLOG");
        Result r = launchShell(command, pgdata);
        assertEquals(new Result(0, ""), r, command);
        assertTrue(java.util.Arrays.equals(segment, Files.readAllBytes(pgdata.resolve("pg wal/RECOVERYXLOG"))));
        Files.delete(pgdata.resolve("pg wal/RECOVERYXLOG"));
        String push = substitute("\"" + home.resolve("bin/wal-archiver").toString().replace("%", "%%")
            + "\" push \"%p\"", SEGMENT, "pg_wal/" + SEGMENT);
        assertEquals(new Result(0, ""), launchShell(push, pgdata), push);
      }
    }
  }

  /** PostgreSQL's substitution in archive_command / restore_command: %f, %p, %% (others kept). */
  static String substitute(String conf, String name, String path) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < conf.length(); i++) {
      char c = conf.charAt(i);
      if (c == '%' && i + 1 < conf.length()) {
        char n = conf.charAt(++i);
        out.append(n == 'f' ? name : n == 'p' ? path : n == '%' ? "%" : "%" + n);
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** Runs {@code command} through /bin/sh in {@code dir}, as PostgreSQL does. */
  Result launchShell(String command, Path dir) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", command).directory(dir.toFile())
        .redirectOutput(ProcessBuilder.Redirect.DISCARD);
    Map<String, String> env = pb.environment();
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.put("PGSIDECAR_SOCKET", root.resolve("agent.sock").toString());
    env.put("PGSIDECAR_WAIT", "1");
    env.put("PGSIDECAR_WAL_ARCHIVER_CURL", curl ? "on" : "off");
    env.remove("PGSIDECAR_JAVA");
    Process p = pb.start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    return new Result(p.exitValue(), err);
  }

  @Test
  void aFetchWithoutAJarExits255AndAPushOne() throws Exception {
    Files.createDirectories(root.resolve("bin"));
    installLauncher(root);
    Result fetch = launch("fetch", SEGMENT, "RECOVERYXLOG");
    assertEquals(255, fetch.exit());
    assertTrue(fetch.stderr().startsWith("wal-archiver: no wal-archiver jar under " + root + "/lib"),
        fetch.stderr());
    assertEquals(1, launch("push", "pg_wal/" + SEGMENT).exit());
  }

  @Test
  void aPushTakesTheCurlPathWithoutAJvmAndFallsBackWhenTheAgentIsAbsent() throws Exception {
    // No jar at all: only the curl path can succeed, so an exit 0 proves no JVM was needed.
    Files.createDirectories(root.resolve("bin"));
    installLauncher(root);
    curl = true;
    List<String> bodies = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (FakeAgent agent = FakeAgent.onSocket(root.resolve("agent.sock"), (r, out) -> {
      bodies.add(new String(r.body(), StandardCharsets.UTF_8));
      if (r.target().equals("/v1/wal/push") && bodies.size() == 1) {
        FakeAgent.json(out, 200, "{}");
      } else {
        FakeAgent.json(out, 409, "{\"error\":\"other content already stored\"}");
      }
    })) {
      assertEquals(new Result(0, ""), launch("push", "pg_wal/" + SEGMENT));
      assertEquals("{\"path\":\"pg_wal/" + SEGMENT + "\"}", bodies.get(0));
      Result conflict = launch("push", "pg_wal/" + SEGMENT);
      assertEquals(new Result(1, "wal-archiver: push of " + SEGMENT + " refused by the agent"
          + " (HTTP 409): {\"error\":\"other content already stored\"}\n"), conflict);
    }
    // The agent is gone: the launcher hands over to the Java client (which would wait for it);
    // without a jar that is the launcher's own failure, exit 1 for a push.
    Result absent = launch("push", "pg_wal/" + SEGMENT);
    assertEquals(1, absent.exit());
    assertTrue(absent.stderr().startsWith("wal-archiver: no wal-archiver jar under"), absent.stderr());
  }

  @Test
  void aFetchTakesTheCurlPathOnlyForAVerifiedBodyOfTheAnnouncedLength() throws Exception {
    Files.createDirectories(root.resolve("bin"));
    installLauncher(root);
    curl = true;
    byte[] segment = new byte[300_000];
    new java.util.Random(7).nextBytes(segment);
    Path dest = Files.createDirectories(root.resolve("pg_wal")).resolve("RECOVERYXLOG");
    try (FakeAgent agent = FakeAgent.onSocket(root.resolve("agent.sock"), (r, out) -> {
      if (r.target().equals("/v1/wal/" + SEGMENT + "?cluster=db1")) {
        FakeAgent.respond(out, 200, Map.of("X-Pgsidecar-Verified", "sha256"), segment);
      } else if (r.target().equals("/v1/wal/000000010000000000000004")) {
        FakeAgent.respond(out, 200, Map.of(), segment); // not verified: the Java client's job
      } else if (r.target().equals("/v1/wal/000000010000000000000005")) {
        FakeAgent.json(out, 404, "{\"error\":\"no route\"}"); // not the agent's "not there"
      } else {
        FakeAgent.missing(out, r.target().substring("/v1/wal/".length()), "{\"error\":\"not there\"}");
      }
    })) {
      assertEquals(new Result(0, ""), launch("fetch", SEGMENT, dest.toString(), "--cluster", "db1"));
      assertEquals(255, launch("fetch", "000000010000000000000005", dest.toString()).exit());
      assertTrue(java.util.Arrays.equals(segment, Files.readAllBytes(dest)), "byte-identical");
      assertEquals(new Result(1, "wal-archiver: fetch: 00000002.history is not in the archive\n"),
          launch("fetch", "00000002.history", dest.toString()));
      // Unverified: handed to the Java client, which (no jar here) fails as a fetch must: 255.
      Result unverified = launch("fetch", "000000010000000000000004", dest.toString());
      assertEquals(255, unverified.exit(), unverified.stderr());
      try (var left = Files.list(dest.getParent())) {
        assertEquals(List.of("RECOVERYXLOG"), left.map(p -> p.getFileName().toString()).toList());
      }
    }
  }

  @Test
  void aFetchLinksAHandedOffSpoolFileAndAsksForTheBytesWhenItCannot() throws Exception {
    Files.createDirectories(root.resolve("bin"));
    installLauncher(root);
    curl = true;
    byte[] segment = new byte[300_000];
    new java.util.Random(8).nextBytes(segment);
    Path spooled = Files.createDirectories(root.resolve("spool")).resolve(SEGMENT);
    Files.write(spooled, segment);
    Path dest = Files.createDirectories(root.resolve("pg_wal")).resolve("RECOVERYXLOG");
    List<String> asked = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    try (FakeAgent agent = FakeAgent.onSocket(root.resolve("agent.sock"), (r, out) -> {
      String mode = r.headers().getOrDefault("x-pgsidecar-handoff", "");
      asked.add(r.target() + " " + mode);
      if (r.target().equals("/v1/wal/" + SEGMENT) && mode.equals("link")) {
        FakeAgent.respond(out, 200, Map.of("X-Pgsidecar-Handoff", spooled.toString(),
            "X-Pgsidecar-Verified", "sha256"), new byte[0]);
      } else if (r.target().equals("/v1/wal/000000010000000000000004") && mode.equals("link")) {
        // a path this client cannot link (another file system, another user: here, none)
        FakeAgent.respond(out, 200, Map.of("X-Pgsidecar-Handoff", root.resolve("elsewhere/x").toString(),
            "X-Pgsidecar-Verified", "sha256"), new byte[0]);
      } else if (r.target().equals("/v1/wal/000000010000000000000004")) {
        FakeAgent.respond(out, 200, Map.of("X-Pgsidecar-Verified", "sha256"), segment);
      } else {
        FakeAgent.json(out, 404, "{\"error\":\"not there\"}");
      }
    })) {
      assertEquals(new Result(0, ""), launch("fetch", SEGMENT, dest.toString()));
      assertEquals(List.of("/v1/wal/" + SEGMENT + " link"), asked);
      assertEquals(Files.getAttribute(spooled, "unix:ino"), Files.getAttribute(dest, "unix:ino"),
          "a hard link of the spool file");
      assertTrue(java.util.Arrays.equals(segment, Files.readAllBytes(dest)), "byte-identical");

      asked.clear();
      Files.delete(dest);
      assertEquals(new Result(0, ""), launch("fetch", "000000010000000000000004", dest.toString()));
      assertEquals(List.of("/v1/wal/000000010000000000000004 link", "/v1/wal/000000010000000000000004 stream"),
          asked);
      assertTrue(java.util.Arrays.equals(segment, Files.readAllBytes(dest)), "byte-identical");
      try (var left = Files.list(dest.getParent())) {
        assertEquals(List.of("RECOVERYXLOG"), left.map(p -> p.getFileName().toString()).toList());
      }
    }
  }

  @Test
  void aHandOffOfAFileOwnedByAnotherUserIsDeclinedAndTheBytesAreStreamed() throws Exception {
    // the agent runs as root, PostgreSQL as postgres: a link to the agent's spool file would put
    // a root-owned file into pg_wal that PostgreSQL cannot open read-write (fsync on rename) or
    // recycle. Mode 0666 so that the kernel's protected_hardlinks alone would let the link happen.
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "needs root to run the launcher as postgres");
    Files.createDirectories(root.resolve("bin"));
    installLauncher(root);
    byte[] segment = new byte[200_000];
    new java.util.Random(10).nextBytes(segment);
    Path spooled = Files.createDirectories(root.resolve("spool")).resolve(SEGMENT);
    Files.write(spooled, segment);
    Files.setPosixFilePermissions(spooled, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
    Path pgWal = Files.createDirectories(root.resolve("pg_wal"));
    var postgres = pgWal.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
    Files.setOwner(pgWal, postgres);
    for (Path p : List.of(root, root.resolve("bin"), root.resolve("spool"))) {
      Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Path dest = pgWal.resolve("RECOVERYXLOG");
    List<String> asked = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    try (FakeAgent agent = FakeAgent.onSocket(root.resolve("agent.sock"), (r, out) -> {
      String mode = r.headers().getOrDefault("x-pgsidecar-handoff", "");
      asked.add(mode);
      if (mode.equals("link")) {
        FakeAgent.respond(out, 200, Map.of("X-Pgsidecar-Handoff", spooled.toString(),
            "X-Pgsidecar-Verified", "sha256"), new byte[0]);
      } else {
        FakeAgent.respond(out, 200, Map.of("X-Pgsidecar-Verified", "sha256"), segment);
      }
    })) {
      Files.setPosixFilePermissions(root.resolve("agent.sock"),
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
      Process p = new ProcessBuilder("runuser", "-u", "postgres", "--", "env",
          "PGSIDECAR_SOCKET=" + root.resolve("agent.sock"), "PGSIDECAR_WAIT=1",
          root.resolve("bin/wal-archiver").toString(), "fetch", SEGMENT, dest.toString())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), err);
      assertEquals(List.of("link", "stream"), asked);
      assertEquals("postgres", Files.getOwner(dest).getName());
      assertTrue(!Files.getAttribute(spooled, "unix:ino").equals(Files.getAttribute(dest, "unix:ino")),
          "the root-owned spool file was linked into pg_wal");
      assertTrue(java.util.Arrays.equals(segment, Files.readAllBytes(dest)), "byte-identical");
    }
  }
}
