package io.pgsidecar.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The PostgreSQL bin directory of the tests, the one place that finds it: {@code PGSIDECAR_PG_BIN}
 * when set, else the discovery of the agent's {@code postgres.bin-dir}
 * ({@code io.pgsidecar.core.config.PostgresBinDir}: {@code pg_config --bindir} on PATH, the
 * highest {@code /usr/lib/postgresql/<major>/bin}, the directory of {@code pg_basebackup} on
 * PATH). A copy of it, not a call: core's tests use testkit, so testkit cannot use core;
 * core's {@code PostgresBinDirTest} checks that both answer alike.
 */
public final class PostgresBin {
  /** Points the tests at a PostgreSQL bin directory, before any discovery. */
  public static final String ENV = "PGSIDECAR_PG_BIN";
  private static final Path INSTALL_ROOT = Path.of("/usr/lib/postgresql");
  private static final String PROBE = "pg_basebackup";

  private static volatile Path found;

  private PostgresBin() {}

  /**
   * The bin directory of the tests' PostgreSQL (found once per JVM).
   *
   * @throws IllegalStateException saying what was looked at and what to install or set
   */
  public static Path dir() {
    Path d = found;
    if (d == null) {
      String env = System.getenv(ENV);
      d = env != null && !env.isBlank() ? Path.of(env)
          : discover(System.getenv(), INSTALL_ROOT).orElseThrow(() -> new IllegalStateException(
              "no PostgreSQL bin directory: " + ENV + " is not set, no pg_config on PATH names"
              + " one with " + PROBE + ", no " + INSTALL_ROOT + "/*/bin holds it, nor does PATH;"
              + " install postgresql-15 or set " + ENV + " to its bin directory"));
      found = d;
    }
    return d;
  }

  /** {@code dir().resolve(program)} as a string, e.g. {@code program("pg_basebackup")}. */
  public static String program(String name) {
    return dir().resolve(name).toString();
  }

  /** The discovery alone (no {@value #ENV}), for this environment's PATH and installations. */
  public static Optional<Path> discover(Map<String, String> env, Path installRoot) {
    List<Path> path = new ArrayList<>();
    for (String dir : env.getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isEmpty()) {
        path.add(Path.of(dir));
      }
    }
    return fromPgConfig(path).or(() -> highestInstalled(installRoot))
        .or(() -> path.stream().filter(PostgresBin::holdsClient).findFirst());
  }

  private static boolean holdsClient(Path dir) {
    return Files.isExecutable(dir.resolve(PROBE));
  }

  private static Optional<Path> fromPgConfig(List<Path> path) {
    for (Path dir : path) {
      Path pgConfig = dir.resolve("pg_config");
      if (Files.isExecutable(pgConfig)) {
        try {
          Process p = new ProcessBuilder(pgConfig.toString(), "--bindir")
              .redirectError(ProcessBuilder.Redirect.DISCARD).start();
          p.getOutputStream().close();
          String out = new String(p.getInputStream().readNBytes(4096), StandardCharsets.UTF_8)
              .strip();
          if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return Optional.empty();
          }
          return p.exitValue() == 0 && !out.isEmpty() && !out.contains("\n")
              ? Optional.of(Path.of(out)).filter(PostgresBin::holdsClient) : Optional.empty();
        } catch (IOException e) {
          return Optional.empty();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }

  private static Optional<Path> highestInstalled(Path installRoot) {
    if (!Files.isDirectory(installRoot)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(installRoot)) {
      return versions.filter(v -> majorOf(v) >= 0).map(v -> v.resolve("bin"))
          .filter(PostgresBin::holdsClient)
          .max(Comparator.comparingDouble(bin -> majorOf(bin.getParent())));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static double majorOf(Path versionDir) {
    String name = versionDir.getFileName().toString();
    return name.matches("[0-9]{1,3}(\\.[0-9]{1,3})?") ? Double.parseDouble(name) : -1;
  }
}
