package io.pgsidecar.agent.wal;

import io.pgsidecar.agent.support.Await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.wal.WalFileName;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real PostgreSQL 15 archiving through the agent: archive_command is curl over the agent's
 * unix socket (until wal-archiver is wired in), the agent stores into a {@link MemoryStorage}
 * through a test pipeline. Checks what matters to an operator: every segment PostgreSQL marked
 * {@code .done} is in storage and fetches back byte-identical, and an agent outage only delays
 * archiving.
 */
class WalArchivingWithPostgresTest {

  @TempDir Path work;
  final MemoryStorage storage = new MemoryStorage();

  private PostgresCluster cluster(Path socket) {
    String push = "curl --unix-socket " + socket + " -fsS -X POST -H 'Content-Type: application/json'"
        + " -d '{\"path\":\"%p\"}' http://agent/v1/wal/push";
    return PostgresCluster.builder()
        .setting("archive_mode", "on")
        .setting("archive_command", push)
        // keep archived segments in pg_wal so the test can compare them byte for byte
        .setting("wal_keep_size", "1GB")
        .setting("max_wal_size", "2GB")
        .setting("checkpoint_timeout", "1h")
        .build();
  }

  private PgsidecarConfig config(PostgresCluster pg) throws IOException {
    // postgres (running curl) must reach the socket inside this root-owned temp dir
    Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    return TestConfig.of(pg.pgdata(), work);
  }

  private Agent startAgent(PgsidecarConfig cfg) throws IOException {
    Agent agent = new Agent(cfg, storage, new XorPipeline());
    agent.start();
    UserPrincipal postgres = cfg.socket().getFileSystem().getUserPrincipalLookupService()
        .lookupPrincipalByName("postgres");
    Files.setOwner(cfg.socket(), postgres);
    return agent;
  }

  @Test
  void everySegmentPostgresMarkedDoneIsStoredAndFetchesBackByteIdentical() throws Exception {
    Path socket = work.resolve("run/agent.sock");
    try (PostgresCluster pg = cluster(socket)) {
      pg.start();
      PgsidecarConfig cfg = config(pg);
      assertEquals(socket, cfg.socket());
      try (Agent agent = startAgent(cfg)) {
        pg.pgbench("-i", "-s", "3");
        String last = pg.switchWal();
        pg.awaitArchived(last, Duration.ofSeconds(120));
        List<String> done = archived(pg);
        assertTrue(done.size() >= 3, "segments archived: " + done);
        for (String name : done) {
          String key = "prod/db1/wal/" + name.substring(0, 16) + "/" + name + ".xor";
          assertTrue(storage.stat(key).isPresent(), key);
          UnixHttp.Response r = UnixHttp.get(cfg.socket(), "/v1/wal/" + name);
          assertEquals(200, r.status(), name);
          assertArrayEquals(Files.readAllBytes(pg.pgdata().resolve("pg_wal").resolve(name)), r.body(), name);
        }
        assertEquals(0, pg.sqlLong("SELECT failed_count FROM pg_stat_archiver"));
      }
    }
  }

  @Test
  void whileTheAgentIsDownReadyFilesPileUpAndAfterItReturnsEverySegmentArrives() throws Exception {
    Path socket = work.resolve("run/agent.sock");
    try (PostgresCluster pg = cluster(socket)) {
      pg.start();
      PgsidecarConfig cfg = config(pg);
      Agent agent = startAgent(cfg);
      pg.sql("CREATE TABLE t AS SELECT g, md5(g::text) FROM generate_series(1, 10000) g");
      pg.awaitArchived(pg.switchWal(), Duration.ofSeconds(60));
      agent.close();

      for (int i = 0; i < 4; i++) {
        pg.sql("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 10000) g");
        pg.switchWal();
      }
      Await.quietly(Duration.ofSeconds(30),
          () -> pg.sqlLong("SELECT failed_count FROM pg_stat_archiver") > 0);
      assertTrue(pg.sqlLong("SELECT failed_count FROM pg_stat_archiver") > 0, "archive_command failed");
      assertTrue(ready(pg).size() >= 4, "ready: " + ready(pg));

      try (Agent again = startAgent(cfg)) {
        // wake the archiver, which otherwise waits up to a minute after three failures
        pg.sql("INSERT INTO t VALUES (0, 'wake')");
        String last = pg.switchWal();
        pg.awaitArchived(last, Duration.ofSeconds(120));
        assertEquals(List.of(), ready(pg));
        for (String name : archived(pg)) {
          UnixHttp.Response r = UnixHttp.get(cfg.socket(), "/v1/wal/" + name);
          assertEquals(200, r.status(), name);
          assertArrayEquals(Files.readAllBytes(pg.pgdata().resolve("pg_wal").resolve(name)), r.body(), name);
        }
      }
    }
  }

  private static List<String> archived(PostgresCluster pg) throws IOException {
    return statusFiles(pg, ".done");
  }

  private static List<String> ready(PostgresCluster pg) throws IOException {
    return statusFiles(pg, ".ready");
  }

  private static List<String> statusFiles(PostgresCluster pg, String suffix) throws IOException {
    try (Stream<Path> s = Files.list(pg.pgdata().resolve("pg_wal/archive_status"))) {
      return s.map(p -> p.getFileName().toString())
          .filter(f -> f.endsWith(suffix))
          .map(f -> f.substring(0, f.length() - suffix.length()))
          .filter(n -> WalFileName.isValid(n) && WalFileName.parse(n).isSegment())
          .sorted()
          .toList();
    }
  }
}
