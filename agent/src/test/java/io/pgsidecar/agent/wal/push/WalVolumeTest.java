package io.pgsidecar.agent.wal.push;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.EventLoopGuard;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code initdb --waldir}: pg_wal is a symbolic link to a directory on another volume (the usual
 * Kubernetes layout with a separate WAL volume). Segments there are the server's own and must be
 * archived; a link from inside pg_wal to anywhere else is still refused.
 */
class WalVolumeTest {

  static final String SEG1 = "000000010000000000000001";
  static final String SEG2 = "000000010000000000000002";

  @TempDir Path work;
  FakePgdata pg;
  Path walVolume;
  MemoryStorage storage = new MemoryStorage();
  PgsidecarConfig config;
  Agent agent;
  EventLoopGuard eventLoops = new EventLoopGuard();

  @BeforeEach
  void start() throws IOException {
    pg = new FakePgdata(work.resolve("pgdata"), 7311234567890123456L);
    walVolume = work.resolve("wal-volume/pg_wal");
    Files.createDirectories(walVolume.getParent());
    Files.move(pg.root().resolve("pg_wal"), walVolume);
    Files.createSymbolicLink(pg.root().resolve("pg_wal"), walVolume);
    config = TestConfig.of(pg.root(), work);
    agent = new Agent(config, storage, new XorPipeline(), EventLoopGuard.strictOptions());
    agent.start();
  }

  @AfterEach
  void stop() {
    agent.close();
    eventLoops.assertNoBlocking();
  }

  UnixHttp.Response push(String path) throws IOException {
    return UnixHttp.post(config.socket(), "/v1/wal/push", new JsonObject().put("path", path).encode());
  }

  @Test
  void segmentInPgWalLinkedToAnotherVolumeIsArchived() throws Exception {
    byte[] plain = pg.readyWal(SEG1, 1 << 16, 3);
    UnixHttp.Response r = push("pg_wal/" + SEG1);
    assertEquals(200, r.status(), r.text());
    String key = new JsonObject(r.text()).getString("key");
    String codec = storage.stat(key).orElseThrow().metadata().codec();
    try (InputStream in = storage.open(key).orElseThrow()) {
      assertArrayEquals(plain, new XorPipeline().decode(in, codec, key).readAllBytes());
    }
  }

  @Test
  void linkFromTheWalVolumeToElsewhereIsStillRefused() throws Exception {
    Path outside = Files.createDirectories(work.resolve("outside"));
    Files.write(outside.resolve(SEG2), new byte[] {1, 2, 3});
    Files.createSymbolicLink(walVolume.resolve(SEG2), outside.resolve(SEG2));
    pg.ready(SEG2);
    UnixHttp.Response r = push("pg_wal/" + SEG2);
    assertEquals(400, r.status());
    assertEquals(WalPushFixture.refusalText(pg.root().resolve("pg_wal/" + SEG2), "is a symbolic link"),
        new JsonObject(r.text()).getString("error"));
    try (Stream<?> s = storage.list("prod/db1/wal/")) {
      assertEquals(List.of(), s.toList());
    }
  }
}
