package io.pgsidecar.agent.wal.push;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.EventLoopGuard;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.RecordingEvents;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectInfo;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent on a fake PGDATA and an in-memory storage, with helpers to push through its hook
 * socket and look at what was stored and reported: the fixture of {@link WalPushTest} (what a
 * push stores) and {@link WalPushRefusalTest} (what a push or the look-ahead refuses to read).
 */
abstract class WalPushFixture {

  static final String SEG1 = "000000010000000000000001";
  static final String SEG2 = "000000010000000000000002";
  static final String KEY1 = "prod/db1/wal/0000000100000000/" + SEG1 + ".xor";
  static final long SYSID = 7311234567890123456L;

  @TempDir Path work;
  FakePgdata pg;
  MemoryStorage storage = new MemoryStorage();
  PgsidecarConfig config;
  Agent agent;
  EventLoopGuard eventLoops = new EventLoopGuard();
  RecordingEvents events = new RecordingEvents();

  @BeforeEach
  void start() throws IOException {
    pg = new FakePgdata(work.resolve("pgdata"), SYSID);
    config = TestConfig.of(pg.root(), work);
    agent = new Agent(config, storage, new XorPipeline(), EventLoopGuard.strictOptions(), events);
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

  static String refusalText(Path file, String what) {
    return "refusing to archive " + file + ": it " + what + "; PostgreSQL only writes regular"
        + " files into pg_wal, so this one was put there by something else. Remove it and its"
        + " archive_status/.ready file";
  }

  String refusal(String name, String what) {
    return refusalText(pg.root().resolve("pg_wal").resolve(name), what);
  }

  static String errorOf(UnixHttp.Response r, int status) {
    assertEquals(status, r.status(), r.text());
    return new JsonObject(r.text()).getString("error");
  }

  List<String> keys(String prefix) throws IOException {
    try (Stream<ObjectInfo> s = storage.list(prefix)) {
      return s.map(ObjectInfo::key).toList();
    }
  }

  static List<String> list(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}
