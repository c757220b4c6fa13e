package io.pgsidecar.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgsidecar.testkit.PostgresBin;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The order of {@link PostgresBinDir}: the key, then pg_config, then the highest installed major
 * version, then pg_basebackup on PATH, each with fake installations in a temp dir; and testkit's
 * copy of the same discovery ({@link PostgresBin}) agrees on every case.
 */
class PostgresBinDirTest {
  @TempDir Path dir;

  private Path executable(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }

  /** A bin directory holding an executable pg_basebackup. */
  private Path clientBin(String where) throws IOException {
    return executable(dir.resolve(where).resolve("pg_basebackup"), "#!/bin/sh\n").getParent();
  }

  private Map<String, String> env(Path... path) {
    return Map.of("PGSIDECAR_CLUSTER", "main", "PGSIDECAR_STORAGE_PATH", "/r", "PATH",
        String.join(":", java.util.Arrays.stream(path).map(Path::toString).toList()));
  }

  private Optional<Path> found(Map<String, String> env, Path installRoot) {
    Optional<Path> core = PostgresBinDir.discover(env, installRoot);
    assertEquals(core, PostgresBin.discover(env, installRoot), "testkit's discovery disagrees");
    return core;
  }

  @Test
  void pgConfigOnPathWinsOverInstallationsAndPath() throws IOException {
    Path named = clientBin("pg17/bin");
    Path tools = executable(dir.resolve("tools/pg_config"),
        "#!/bin/sh\n[ \"$1\" = --bindir ] && echo " + named + "\n").getParent();
    clientBin("root/16/bin");
    Path onPath = clientBin("other");
    assertEquals(Optional.of(named), found(env(tools, onPath), dir.resolve("root")));
  }

  @Test
  void aPgConfigNamingADirectoryWithoutPgBasebackupIsPassedOver() throws IOException {
    Path tools = executable(dir.resolve("tools/pg_config"), "#!/bin/sh\necho /nonexistent/bin\n")
        .getParent();
    Path installed = clientBin("root/15/bin");
    assertEquals(Optional.of(installed), found(env(tools), dir.resolve("root")));
  }

  @Test
  void theHighestInstalledMajorVersionWithPgBasebackupIsTaken() throws IOException {
    clientBin("root/9.6/bin");
    Path v16 = clientBin("root/16/bin");
    clientBin("root/15/bin");
    Files.createDirectories(dir.resolve("root/17/bin")); // no client programs: not this one
    Files.createDirectories(dir.resolve("root/common/bin"));
    assertEquals(Optional.of(v16), found(env(dir.resolve("empty")), dir.resolve("root")));
  }

  @Test
  void elseTheDirectoryOfPgBasebackupOnPath() throws IOException {
    Path onPath = clientBin("usr/bin");
    assertEquals(Optional.of(onPath), found(env(dir.resolve("none"), onPath), dir.resolve("root")));
  }

  @Test
  void theKeyWinsOverDiscovery() throws IOException {
    Path onPath = clientBin("usr/bin");
    Map<String, String> env = new java.util.HashMap<>(env(onPath));
    env.put("PGSIDECAR_POSTGRES_BIN_DIR", "/opt/pg/bin");
    assertEquals(Path.of("/opt/pg/bin"),
        ConfigLoader.load(Optional.empty(), env, dir.resolve("root")).postgres().binDir());
  }

  @Test
  void nothingFoundLoadsButTheFirstUseNamesTheKeyAndItsVariable() {
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), env(dir.resolve("none")),
        dir.resolve("root"));
    assertEquals(Optional.empty(), c.postgres().foundBinDir());
    ConfigException e = assertThrows(ConfigException.class, () -> c.postgres().binDir());
    assertEquals(List.of("postgres.bin-dir: no PostgreSQL bin directory found (not set; no"
        + " pg_config on PATH naming one with pg_basebackup; no /usr/lib/postgresql/*/bin with"
        + " pg_basebackup; no pg_basebackup on PATH); install the PostgreSQL client programs or"
        + " set postgres.bin-dir (env PGSIDECAR_POSTGRES_BIN_DIR) to the directory holding"
        + " pg_basebackup, pg_dump and pg_dumpall"), e.errors());
  }
}
