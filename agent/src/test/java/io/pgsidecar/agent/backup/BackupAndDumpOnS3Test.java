package io.pgsidecar.agent.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.agent.Sidecar;
import io.pgsidecar.agent.cli.Main;
import io.pgsidecar.core.config.ConfigLoader;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.factory.StorageFactory;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.S3Server;
import io.pgsidecar.walarchiver.WalArchiver;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A base backup and a logical dump on S3 (S3Mock, path style, static key files) as an operator
 * runs them: the agent ({@link Sidecar}, as {@code pgsidecar agent} starts it) on a
 * configuration the loader read from {@code PGSIDECAR_*} variables, {@code pgsidecar backup create --wait} and {@code pgsidecar dump create --wait}
 * through its admin socket, then read back from the bucket: {@code pgsidecar restore} lays the
 * backup into an empty directory where PostgreSQL replays the archive (fetched through the
 * agent) to the last row, and {@code pgsidecar dump restore} recreates the database under a new
 * name with every row.
 */
class BackupAndDumpOnS3Test {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(240);
  private static final String CHECKSUM = "SELECT count(*) || ':' || sum(abalance) || ':' "
      + "|| md5(string_agg(aid::text || filler, ',' ORDER BY aid)) FROM pgbench_accounts";
  private static S3Server s3;

  @TempDir Path work;

  @BeforeAll
  static void startS3() throws IOException {
    s3 = S3Server.s3Mock();
  }

  @AfterAll
  static void stopS3() {
    if (s3 != null) {
      s3.close();
    }
  }

  record Run(int code, String out, String err) {
    JsonNode json() throws IOException {
      assertEquals(0, code, err);
      return JSON.readTree(out);
    }
  }

  private static Run cli(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, env, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void backupAndDumpGoToS3AndComeBackWithEveryRow() throws Exception {
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path hook = work.resolve("run/agent.sock");
    Path walArchiver = walArchiverScript(work.resolve("wal-archiver"));
    Path restored = PostgresCluster.emptyDataDirectory();
    try (PostgresCluster primary = PostgresCluster.builder()
        .setting("archive_mode", "on")
        .setting("archive_command", walArchiver + " --socket " + hook + " --wait 2 push %p")
        .build().start()) {
      Map<String, String> env = env(primary, hook, walArchiver);
      PgsidecarConfig cfg = ConfigLoader.load(Optional.empty(), env);
      assertEquals(PgsidecarConfig.StorageType.S3, cfg.storage().type());
      RepositoryLayout layout = new RepositoryLayout("prod", "db1");
      try (Storage storage = StorageFactory.open(cfg.storage())) {
        storage.probe(); // as the agent's start does
        Sidecar agent = Sidecar.open(cfg); // what `pgsidecar agent` starts
        agent.start();
        try {
          primary.pgbench("-i", "-s", "2", "-q");

          // the base backup, through the CLI and the admin socket
          JsonNode backup = cli(env, "backup", "create", "--wait", "--label", "s3",
              "--output", "json").json();
          String backupId = backup.path("id").asText();
          assertTrue(storage.stat(layout.baseManifest(backupId)).isPresent(),
              "manifest of " + backupId + " in " + storage.describe());
          assertEquals(backupId, cli(env, "backup", "list", "--output", "json").json()
              .path(0).path("id").asText());

          // rows written after the backup, to be replayed from the archive on S3
          primary.sql("UPDATE pgbench_accounts SET abalance = aid % 97 WHERE aid % 3 = 0");
          primary.sql("CREATE TABLE after_backup AS SELECT 'last' AS marker");
          String last = primary.switchWal();
          primary.awaitArchived(last, TIMEOUT);
          String source = primary.psql("-c", CHECKSUM).strip();
          assertTrue(source.startsWith("200000:"), source);

          // the dump, through the CLI, then restored under a new name from S3
          JsonNode dump = cli(env, "dump", "create", "--wait", "--output", "json").json();
          String dumpId = dump.path("id").asText();
          assertTrue(storage.stat(layout.dumpManifest(dumpId)).isPresent(),
              "dump " + dumpId + " in " + storage.describe());
          Run restore = cli(env, "dump", "restore", dumpId, "--db", "postgres", "--target",
              "postgresql://postgres@127.0.0.1:" + primary.port() + "/postgres", "--as",
              "from_s3");
          assertEquals(0, restore.code(), restore.err());
          assertTrue(restore.out().startsWith("restored database postgres of dump " + dumpId
              + " into from_s3 ("), restore.out());
          assertTrue(restore.out().endsWith(" of archive, checksum verified)\n"), restore.out());
          assertEquals(source, primary.psql("-d", "from_s3", "-c", CHECKSUM).strip());
          assertEquals("last", primary.psql("-d", "from_s3", "-c",
              "SELECT marker FROM after_backup").strip());

          // the base backup, laid out by `pgsidecar restore` and replayed to the end
          Run laid = cli(env, "restore", "--to", restored.toString());
          assertEquals(0, laid.code(), laid.err());
          assertTrue(laid.out().startsWith("restored backup " + backupId), laid.out());
          try (PostgresCluster copy = PostgresCluster.fromExistingDataDir(restored)
              .setting("archive_mode", "off")
              .deleteDataDirOnClose()
              .build()) {
            copy.start();
            copy.awaitEndOfRecovery(TIMEOUT);
            assertEquals(source, copy.psql("-c", CHECKSUM).strip());
            assertEquals("last", copy.psql("-c", "SELECT marker FROM after_backup").strip());
            assertTrue(Files.readString(copy.logFile()).contains(
                "restored log file \"" + last + "\" from archive"), copy.logTail(40));
          }
        } finally {
          agent.close();
        }
      }
    }
  }

  /** The variables an operator sets for S3 with static keys (the chart's Secret as files). */
  private Map<String, String> env(PostgresCluster pg, Path hook, Path walArchiver)
      throws IOException {
    Path id = S3Server.writeSecret(work.resolve("s3-id"), S3Server.ACCESS_KEY);
    Path secret = S3Server.writeSecret(work.resolve("s3-secret"), S3Server.SECRET_KEY);
    Map<String, String> env = new HashMap<>();
    env.put("PGSIDECAR_CLUSTER", "db1");
    env.put("PGSIDECAR_PGDATA", pg.pgdata().toString());
    env.put("PGSIDECAR_SOCKET", hook.toString());
    env.put("PGSIDECAR_HTTP_ADMIN_SOCKET", work.resolve("admin/admin.sock").toString());
    env.put("PGSIDECAR_HTTP_SOCKET_MODE", "0666");
    env.put("PGSIDECAR_POSTGRES_HOST", "127.0.0.1");
    env.put("PGSIDECAR_POSTGRES_PORT", Integer.toString(pg.port()));
    env.put("PGSIDECAR_POSTGRES_USER", "postgres");
    env.put("PGSIDECAR_POSTGRES_BIN_DIR", pg.binDir().toString());
    env.put("PGSIDECAR_STORAGE_TYPE", "s3");
    env.put("PGSIDECAR_STORAGE_PREFIX", "prod");
    env.put("PGSIDECAR_STORAGE_TIMEOUT", "20s");
    env.put("PGSIDECAR_STORAGE_S3_BUCKET", s3.bucket());
    env.put("PGSIDECAR_STORAGE_S3_ENDPOINT", s3.endpoint());
    env.put("PGSIDECAR_STORAGE_S3_REGION", S3Server.REGION);
    env.put("PGSIDECAR_STORAGE_S3_PATH_STYLE", "true");
    env.put("PGSIDECAR_STORAGE_S3_AUTH", "static");
    env.put("PGSIDECAR_STORAGE_S3_ACCESS_KEY_ID_FILE", id.toString());
    env.put("PGSIDECAR_STORAGE_S3_SECRET_ACCESS_KEY_FILE", secret.toString());
    env.put("PGSIDECAR_STORAGE_S3_PART_SIZE", "5MiB");
    env.put("PGSIDECAR_WAL_SPOOL_DIR", work.resolve("spool").toString());
    env.put("PGSIDECAR_METRICS_PORT", "0");
    env.put("PGSIDECAR_BACKUP_WAL_WAIT_TIMEOUT", "2m");
    env.put("PGSIDECAR_RESTORE_WAL_ARCHIVER", walArchiver.toString());
    env.put("PGSIDECAR_RESTORE_SOCKET", hook.toString());
    return env;
  }

  /** bin/wal-archiver as this build has it: the module's classes in a JVM of their own. */
  private static Path walArchiverScript(Path file) throws Exception {
    String classes = Path.of(WalArchiver.class.getProtectionDomain().getCodeSource().getLocation()
        .toURI()).toString();
    Files.writeString(file, "#!/bin/sh\nexec " + Path.of(System.getProperty("java.home"), "bin",
        "java") + " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp " + classes + " "
        + WalArchiver.class.getName() + " \"$@\"\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }
}
