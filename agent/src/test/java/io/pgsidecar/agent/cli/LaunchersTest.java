package io.pgsidecar.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bash launchers in bin/, run for real against a copy of bin/ in a scratch "repository"
 * with a fake JDK whose {@code java} prints its arguments: which Java, which jar, which flags.
 */
class LaunchersTest {

  /** Surefire runs in agent/: the launchers live at the repository root. */
  private static final Path BIN = Path.of("..", "bin").toAbsolutePath().normalize();

  @TempDir Path root;
  Path jdk;

  record Result(int code, String out, String err) {}

  @BeforeEach
  void scratchRepositoryWithFakeJdk() throws IOException {
    for (String f : List.of("pgsidecar", "wal-archiver", "restore-init", "lib/launch.sh", "lib/agent-jvm.sh")) {
      Path to = root.resolve("bin").resolve(f);
      Files.createDirectories(to.getParent());
      Files.copy(BIN.resolve(f), to);
    }
    jdk = root.resolve("jdk");
    Files.createDirectories(jdk.resolve("bin"));
    Files.writeString(jdk.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"21.0.5\"\n");
    executable(Files.writeString(jdk.resolve("bin/java"), "#!/bin/sh\nprintf '%s\\n' \"$@\"\n"));
    Files.createDirectories(root.resolve("agent/target/lib"));
    Files.createFile(root.resolve("agent/target/pgsidecar-agent-9.9-tests.jar"));
    Files.createFile(root.resolve("agent/target/pgsidecar-agent-9.9.jar"));
    Files.createDirectories(root.resolve("wal-archiver/target"));
    Files.createFile(root.resolve("wal-archiver/target/wal-archiver-9.9.jar"));
  }

  /**
   * The agent's JVM flags as bin/lib/agent-jvm.sh lists them (one place for both launchers), on a
   * Java 21 (without the flags of later versions) or a Java 22+.
   */
  private static List<String> agentFlags(boolean java22) {
    List<String> flags = new ArrayList<>(List.of("-XX:+UseSerialGC", "-XX:MaxRAM=512m", "-Xmx80m",
        "-Xmn20m", "-XX:SurvivorRatio=3", "-XX:TargetSurvivorRatio=80", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30", "-XX:MaxDirectMemorySize=64m",
        "-Dreactor.netty.ioWorkerCount=2", "-XX:MaxMetaspaceSize=128m",
        "-XX:ReservedCodeCacheSize=64m"));
    if (java22) {
      flags.add("-XX:TrimNativeHeapInterval=1000");
    }
    flags.add("-XX:+ExitOnOutOfMemoryError");
    return flags;
  }

  /** The lines the fake java prints: native access, the agent's flags, then {@code rest}. */
  private static String agentCommand(boolean java22, String... rest) {
    List<String> lines = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED"));
    lines.addAll(agentFlags(java22));
    lines.addAll(List.of(rest));
    return String.join("\n", lines) + "\n";
  }

  private static void executable(Path p) throws IOException {
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private Result run(Map<String, String> env, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).directory(root.toFile());
    pb.environment().clear();
    pb.environment().put("PATH", "/usr/bin:/bin");
    pb.environment().putAll(env);
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("launcher did not finish: " + String.join(" ", command));
    }
    return new Result(p.exitValue(), out, err);
  }

  @Test
  void pgsidecarRunsTheAgentJarWithNativeAccessAndPassesArgumentsThrough() throws Exception {
    Result r = run(Map.of("JAVA_HOME", jdk.toString(), "PGSIDECAR_JAVA_OPTS", "-Xmx64m -Dx=y"),
        root.resolve("bin/pgsidecar").toString(), "config", "show", "two words");
    assertEquals(new Result(0, agentCommand(false, "-Xmx64m", "-Dx=y", "-jar",
        root.resolve("agent/target/pgsidecar-agent-9.9.jar").toString(), "config", "show",
        "two words"), ""), r);
    // Java 22 and later also trim the native heap (Java 21 refuses the flag)
    Files.writeString(jdk.resolve("release"), "JAVA_VERSION=\"25.0.1\"\n");
    Result on25 = run(Map.of("JAVA_HOME", jdk.toString(), "PGSIDECAR_CDS", "off"),
        root.resolve("bin/pgsidecar").toString(), "--help");
    assertEquals(new Result(0, agentCommand(true, "-jar",
        root.resolve("agent/target/pgsidecar-agent-9.9.jar").toString(), "--help"), ""), on25);
  }

  @Test
  void walArchiverStartsWithFastStartupFlags() throws Exception {
    // the class-data archive is wal-archiver's own LauncherTest's business: off here
    Result r = run(Map.of("JAVA_HOME", jdk.toString(), "PGSIDECAR_WAL_ARCHIVER_CDS", "off"),
        root.resolve("bin/wal-archiver").toString(), "push", "pg_wal/000000010000000000000001");
    assertEquals(new Result(0, String.join("\n", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-XX:-UsePerfData", "-cp",
        root.toRealPath().resolve("wal-archiver/target/wal-archiver-9.9.jar").toString(),
        "io.pgsidecar.walarchiver.WalArchiver", "push", "pg_wal/000000010000000000000001") + "\n",
        ""), r);
  }

  @Test
  void aMissingJarSaysHowToBuildIt() throws Exception {
    Result r = run(Map.of("JAVA_HOME", jdk.toString()), root.resolve("bin/restore-init").toString());
    assertEquals(new Result(2, "", "error: restore-init/target/restore-init-*.jar not found in "
        + root.toRealPath() + ": run ./mvnw -DskipTests package first.\n"), r);
  }

  @Test
  void javaVersionIsReadFromTheReleaseFile() throws Exception {
    for (var c : Map.of("1.8.0_392", "8", "17.0.9", "17", "21", "21", "25.0.3+9", "25").entrySet()) {
      Files.writeString(jdk.resolve("release"), "JAVA_VERSION=\"" + c.getKey() + "\"\n");
      Result r = run(Map.of(), "bash", "-c", "source bin/lib/launch.sh; java_release_major " + jdk);
      assertEquals(new Result(0, c.getValue() + "\n", ""), r, c.getKey());
    }
    Result none = run(Map.of(), "bash", "-c", "source bin/lib/launch.sh; java_release_major /nonexistent");
    assertEquals(new Result(0, "0\n", ""), none);
  }

  @Test
  void pgsidecarPrepareCacheMakesAnArchiveThatLaterStartsUseUntilALibJarChanges() throws Exception {
    // a JDK 21 whose training run "writes" the dynamic CDS archive it is asked for
    executable(Files.writeString(jdk.resolve("bin/java"), "#!/bin/sh\nfor a in \"$@\"; do case $a in"
        + " -XX:ArchiveClassesAtExit=*) echo cds > \"${a#*=}\" ;; esac; done\nprintf '%s\\n' \"$@\"\n"));
    Path lib = Files.createFile(root.resolve("agent/target/lib/pgsidecar-core-9.9.jar"));
    Map<String, String> env = Map.of("JAVA_HOME", jdk.toString());
    Result made = run(env, root.resolve("bin/pgsidecar").toString(), "prepare-cache");
    List<Path> archives;
    try (var s = Files.list(root.resolve("agent/target"))) {
      archives = s.filter(f -> f.getFileName().toString().matches("pgsidecar-agent\\.jdk21-\\d+\\.jsa"))
          .toList();
    }
    assertEquals(1, archives.size(), archives.toString());
    Path archive = archives.getFirst();
    assertEquals(new Result(0, "class-data archive ready: " + archive + "\n", ""), made);

    Result help = run(env, root.resolve("bin/pgsidecar").toString(), "--help");
    assertEquals(new Result(0, agentCommand(false, "-XX:SharedArchiveFile=" + archive,
        "-Xlog:cds=off", "-jar", root.resolve("agent/target/pgsidecar-agent-9.9.jar").toString(),
        "--help"), ""), help);

    Files.setLastModifiedTime(lib, java.nio.file.attribute.FileTime.fromMillis(0));
    Result rebuilt = run(env, root.resolve("bin/pgsidecar").toString(), "--help");
    assertEquals(new Result(0, agentCommand(false, "-jar",
        root.resolve("agent/target/pgsidecar-agent-9.9.jar").toString(), "--help"), ""),
        rebuilt, "an archive of other lib/ jars is never used");
  }
}
