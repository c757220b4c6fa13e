package io.pgsidecar.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.restore.RecoveryTarget.Action;
import io.pgsidecar.core.restore.RecoveryTarget.Kind;
import io.pgsidecar.testkit.CommandResult;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The recovery settings as a real PostgreSQL 15 reads them: values holding quotes, backslashes
 * and {@code %} come back unchanged ({@code postgres -C}), and a restore_command whose
 * wal-archiver, socket and cluster hold spaces, quotes, {@code %} and a backslash runs the
 * launcher with exactly those arguments during a real recovery, on a data directory whose own
 * path holds a space and a quote.
 */
class RecoverySettingsPostgresTest {

  static Path dir;
  static Path archiver;
  static Path calls;
  static PostgresCluster pg;

  static final String SOCKET = "/run/it's 50% \\ on.sock";
  static final String CLUSTER = "db 'one'";

  @BeforeAll
  static void stoppedCluster() throws IOException {
    dir = Files.createTempDirectory("pgsidecar-quoting-");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path bin = Files.createDirectories(dir.resolve("bin it's 100%p"));
    calls = Files.writeString(dir.resolve("calls.log"), "");
    Files.setPosixFilePermissions(calls, PosixFilePermissions.fromString("rw-rw-rw-"));
    archiver = bin.resolve("wal archiver");
    // Records its arguments one per line, then answers "not in the archive".
    Files.writeString(archiver, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> "
        + calls + "\necho -- >> " + calls + "\nexit 1\n");
    Files.setPosixFilePermissions(archiver, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path parent = Files.createDirectories(dir.resolve("data it's"));
    Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwxr-xr-x"));
    pg = PostgresCluster.builder().dataDir(parent.resolve("pgdata")).deleteDataDirOnClose().build();
    pg.start();
    pg.stop();
  }

  @AfterAll
  static void close() throws IOException {
    if (pg != null) {
      pg.close();
    }
    try (var all = Files.walk(dir)) {
      for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static String show(String setting) {
    CommandResult r = pg.runAsPostgres(List.of(pg.bin("postgres"), "-D", pg.pgdata().toString(),
        "-C", setting)).orThrow();
    return r.output().stripTrailing();
  }

  @Test
  void targetValuesWithQuotesAndBackslashesReachPostgresUnchanged() throws IOException {
    RecoverySettings settings = new RecoverySettings(archiver.toString(), Optional.of(SOCKET),
        Optional.of(CLUSTER));
    for (String name : List.of("before 'upgrade'", "a \\ b", "ends with \\", "\\'; x = '1",
        "100% \\n done")) {
      settings.write(pg.pgdata(), new RecoveryTarget(Kind.NAME, name, false, Action.PAUSE, "latest"));
      assertEquals(name, show("recovery_target_name"), name);
      assertEquals("pause", show("recovery_target_action"));
    }
    assertEquals("'" + archiver.toString().replace("'", "'\\''").replace("%", "%%")
        + "' fetch %f %p --socket '/run/it'\\''s 50%% \\ on.sock' --cluster 'db '\\''one'\\'''",
        show("restore_command"));
  }

  @Test
  void aQuotedRestoreCommandRunsTheLauncherWithItsArgumentsInARealRecovery() throws IOException {
    new RecoverySettings(archiver.toString(), Optional.of(SOCKET), Optional.of(CLUSTER))
        .write(pg.pgdata(), RecoveryTarget.latest());
    Files.writeString(calls, "");
    pg.start();
    try {
      pg.awaitEndOfRecovery(Duration.ofSeconds(60));
    } finally {
      pg.stop();
    }
    String log = Files.readString(calls);
    String history = String.join("\n", "fetch", "00000002.history", "pg_wal/RECOVERYHISTORY",
        "--socket", SOCKET, "--cluster", CLUSTER, "--") + "\n";
    assertTrue(log.contains(history), log);
    assertTrue(log.contains(String.join("\n", "fetch", "000000010000000000000001",
        "pg_wal/RECOVERYXLOG", "--socket", SOCKET, "--cluster", CLUSTER, "--")), log);
  }
}
