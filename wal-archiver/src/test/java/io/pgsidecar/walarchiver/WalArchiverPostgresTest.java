package io.pgsidecar.walarchiver;

import io.pgsidecar.protocol.FakeAgent;
import io.pgsidecar.protocol.WalName;
import io.pgsidecar.protocol.Json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.testkit.PostgresCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * wal-archiver as a real PostgreSQL 15 runs it: archive_command pushes through a fake agent
 * that keeps the files in memory, and a server restored from a base backup replays them
 * through restore_command, then ends recovery on the first "not in the archive".
 */
class WalArchiverPostgresTest {
  private Path socketDir;
  private FakeAgent agent;
  private final Map<String, byte[]> archive = new ConcurrentHashMap<>();
  private volatile Path pgdataOfPusher;

  @BeforeEach
  void startAgent() throws IOException {
    // PostgreSQL runs wal-archiver as the postgres user: the socket must be reachable for it.
    socketDir = Files.createTempDirectory("wal-archiver-it-");
    Files.setPosixFilePermissions(socketDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    agent = FakeAgent.onSocket(socketDir.resolve("agent.sock"), this::answer);
  }

  @AfterEach
  void stopAgent() throws IOException {
    agent.close();
    Files.deleteIfExists(socketDir);
  }

  /** Push reads %p below the pusher's PGDATA; fetch serves what was pushed, else 404. */
  private void answer(FakeAgent.Request r, java.io.OutputStream out) throws IOException {
    if (r.method().equals("POST")) {
      String path = Json.stringField(r.bodyText(), "path");
      byte[] content = Files.readAllBytes(pgdataOfPusher.resolve(path));
      byte[] before = archive.putIfAbsent(WalName.baseName(path), content);
      if (before != null && !java.util.Arrays.equals(before, content)) {
        FakeAgent.json(out, 409, "{\"message\":\"different content\"}");
        return;
      }
      FakeAgent.json(out, 200, "{}");
      return;
    }
    byte[] content = archive.get(r.target().substring("/v1/wal/".length()));
    if (content == null) {
      FakeAgent.missing(out, r.target().substring("/v1/wal/".length()), "{\"message\":\"not in the archive\"}");
      return;
    }
    FakeAgent.respond(out, 200, Map.of("X-Pgsidecar-Sha256", sha256(content)), content);
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The command line PostgreSQL runs: this build's classes on the test's own JDK. */
  private static String walArchiver() throws Exception {
    Path classes = Path.of(WalArchiver.class.getProtectionDomain().getCodeSource().getLocation()
        .toURI());
    return Path.of(System.getProperty("java.home"), "bin", "java")
        + " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -cp " + classes + " "
        + WalArchiver.class.getName();
  }

  @Test
  void aServerRestoredFromABaseBackupReplaysTheArchivedWalUpToTheLastCommit() throws Exception {
    String socket = socketDir.resolve("agent.sock").toString();
    try (PostgresCluster primary = PostgresCluster.builder()
        .setting("archive_mode", "on")
        .setting("archive_command", walArchiver() + " push %p")
        .environment("PGSIDECAR_SOCKET", socket)
        .build().start()) {
      pgdataOfPusher = primary.pgdata();
      primary.sql("CREATE TABLE t (id int PRIMARY KEY)");
      primary.sql("INSERT INTO t SELECT generate_series(1, 1000)");

      // -X none: pg_basebackup returns only once archive_command has pushed the backup's WAL.
      Path restored = PostgresCluster.emptyDataDirectory();
      primary.runAsPostgres(List.of(primary.bin("pg_basebackup"), "-D", restored.toString(),
          "-X", "none", "-c", "fast")).orThrow();

      primary.sql("INSERT INTO t SELECT generate_series(1001, 5000)");
      String last = primary.switchWal();
      primary.awaitArchived(last, Duration.ofSeconds(60));
      primary.stop();

      Files.writeString(restored.resolve("recovery.signal"), "");
      int fetchesBefore = agent.requests().size();
      try (PostgresCluster replica = PostgresCluster.fromExistingDataDir(restored)
          .deleteDataDirOnClose()
          .setting("archive_mode", "off")
          .setting("restore_command", walArchiver() + " fetch %f %p")
          .environment("PGSIDECAR_SOCKET", socket)
          .build().start()) {
        replica.awaitEndOfRecovery(Duration.ofSeconds(120));
        assertEquals(5000, replica.sqlLong("SELECT count(*) FROM t"),
            "rows after the backup come from replayed WAL\n" + replica.logTail(40));
        assertEquals("00000002", replica.sql("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"),
            "recovery ended on the first segment not in the archive and promoted");
        List<String> fetched = agent.requests().subList(fetchesBefore, agent.requests().size())
            .stream().map(FakeAgent.Request::target).toList();
        assertTrue(fetched.contains("/v1/wal/" + last), fetched.toString());
        assertTrue(replica.logTail(200).contains("restored log file \"" + last
            + "\" from archive"), replica.logTail(200));
      }
    }
  }
}
