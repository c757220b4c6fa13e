package io.pgsidecar.core.config;

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
 * Where the PostgreSQL client programs (pg_basebackup, pg_dump, pg_dumpall, psql) are: the one
 * place that decides it. In order:
 * <ol>
 *   <li>{@code postgres.bin-dir} (env {@code PGSIDECAR_POSTGRES_BIN_DIR}), as given;
 *   <li>{@code pg_config --bindir} of the {@code pg_config} on PATH (what the installation says
 *       of itself; Debian's wrapper names the newest installed major version);
 *   <li>the highest {@code /usr/lib/postgresql/<major>/bin} (Debian and Ubuntu's layout, the
 *       image's);
 *   <li>the directory of {@code pg_basebackup} on PATH.
 * </ol>
 * Steps 2 to 4 take a directory only when it holds an executable {@code pg_basebackup}. When
 * none does, the configuration still loads (restore-init needs no client program), and the
 * first use of the directory fails with {@link #notFound()}, which names the key and variable.
 */
public final class PostgresBinDir {
  public static final String KEY = "postgres.bin-dir";
  /** Where Debian's packages install each major version: {@code <root>/<major>/bin}. */
  static final Path INSTALL_ROOT = Path.of("/usr/lib/postgresql");
  private static final String PROBE = "pg_basebackup";

  private PostgresBinDir() {}

  /** Steps 2 to 4 for this environment (its PATH). */
  public static Optional<Path> discover(Map<String, String> env) {
    return discover(env, INSTALL_ROOT);
  }

  static Optional<Path> discover(Map<String, String> env, Path installRoot) {
    List<Path> path = pathDirectories(env);
    return fromPgConfig(path).or(() -> highestInstalled(installRoot)).or(() -> onPath(path));
  }

  /** The error of a directory that was neither set nor found. */
  public static ConfigException notFound() {
    return new ConfigException(List.of(KEY + ": no PostgreSQL bin directory found (not set; no"
        + " pg_config on PATH naming one with " + PROBE + "; no " + INSTALL_ROOT + "/*/bin with "
        + PROBE + "; no " + PROBE + " on PATH); install the PostgreSQL client programs or set "
        + KEY + " (env " + Param.envVar(KEY) + ") to the directory holding " + PROBE
        + ", pg_dump and pg_dumpall"));
  }

  private static List<Path> pathDirectories(Map<String, String> env) {
    List<Path> dirs = new ArrayList<>();
    for (String dir : env.getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isEmpty()) {
        dirs.add(Path.of(dir));
      }
    }
    return dirs;
  }

  private static boolean holdsClient(Path dir) {
    return Files.isExecutable(dir.resolve(PROBE));
  }

  private static Optional<Path> fromPgConfig(List<Path> path) {
    for (Path dir : path) {
      Path pgConfig = dir.resolve("pg_config");
      if (Files.isExecutable(pgConfig)) {
        return bindirOf(pgConfig).filter(PostgresBinDir::holdsClient);
      }
    }
    return Optional.empty();
  }

  /** {@code pg_config --bindir}, or empty when it fails or takes more than 10 s. */
  private static Optional<Path> bindirOf(Path pgConfig) {
    try {
      Process p = new ProcessBuilder(pgConfig.toString(), "--bindir")
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readNBytes(4096), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return Optional.empty();
      }
      return p.exitValue() == 0 && !out.isEmpty() && !out.contains("\n")
          ? Optional.of(Path.of(out)) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private static Optional<Path> highestInstalled(Path installRoot) {
    if (!Files.isDirectory(installRoot)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(installRoot)) {
      return versions.filter(v -> majorOf(v) >= 0).map(v -> v.resolve("bin"))
          .filter(PostgresBinDir::holdsClient)
          .max(Comparator.comparingDouble(bin -> majorOf(bin.getParent())));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** "15" as 15, "9.6" as 9.6; -1 for a name that is not a version. */
  private static double majorOf(Path versionDir) {
    String name = versionDir.getFileName().toString();
    return name.matches("[0-9]{1,3}(\\.[0-9]{1,3})?") ? Double.parseDouble(name) : -1;
  }

  private static Optional<Path> onPath(List<Path> path) {
    return path.stream().filter(PostgresBinDir::holdsClient).findFirst();
  }
}
