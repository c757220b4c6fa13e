package io.pgsidecar.agent.wal.fetch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.EventLoopGuard;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.HangingReadStorage;
import io.pgsidecar.agent.support.RecordingEvents;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.StorageException;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalFetchTest {

  static final String SEG1 = "000000010000000000000001";
  static final String SEG2 = "000000010000000000000002";
  static final String SEG3 = "000000010000000000000003";

  @TempDir Path work;
  MemoryStorage storage = new MemoryStorage();
  PgsidecarConfig config;
  Agent agent;
  EventLoopGuard eventLoops = new EventLoopGuard();
  RecordingEvents events = new RecordingEvents();

  @BeforeEach
  void start() throws IOException {
    FakePgdata pg = new FakePgdata(work.resolve("pgdata"), 1);
    config = TestConfig.of(pg.root(), work);
    agent = new Agent(config, storage, new XorPipeline(), EventLoopGuard.strictOptions(), events);
    agent.start();
  }

  @AfterEach
  void stop() {
    agent.close();
    eventLoops.assertNoBlocking();
  }

  byte[] store(String cluster, String name, int size, long seed) throws Exception {
    byte[] plain = new byte[size];
    new Random(seed).nextBytes(plain);
    String key = "prod/" + cluster + "/wal/" + name.substring(0, 16) + "/" + name + ".xor";
    String sha = sha256(plain);
    storage.create(key, new ByteArrayInputStream(XorPipeline.encoded(plain)),
        () -> new ObjectMetadata(sha, plain.length, "xor", ""));
    return plain;
  }

  @Test
  void storedSegmentComesBackByteIdenticalWithItsChecksumAndLength() throws Exception {
    byte[] plain = store("db1", SEG1, 3 << 20, 1);
    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/" + SEG1);
    assertEquals(200, r.status());
    assertEquals(sha256(plain), r.headers().get("x-pgsidecar-sha256"));
    assertEquals(Integer.toString(plain.length), r.headers().get("content-length"));
    assertArrayEquals(plain, r.body());
  }

  @Test
  void segmentOfAnotherClusterIsServedWhenAskedFor() throws Exception {
    byte[] plain = store("old", SEG1, 1000, 2);
    assertArrayEquals(plain, UnixHttp.get(config.socket(), "/v1/wal/" + SEG1 + "?cluster=old").body());
    assertEquals(404, UnixHttp.get(config.socket(), "/v1/wal/" + SEG1).status());
  }

  @Test
  void missingSegmentIs404() throws Exception {
    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/00000002.history");
    assertEquals(404, r.status());
    assertEquals("WAL file 00000002.history is not in the archive prod/db1/wal/",
        new JsonObject(r.text()).getString("error"));
  }

  @Test
  void storageFailureIs503NeverNotFound() throws Exception {
    store("db1", SEG1, 100, 1);
    storage.failWith(new StorageException("list prod/db1/wal/: connection reset; check the network"));
    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/" + SEG1);
    assertEquals(503, r.status());
    assertEquals("fetching " + SEG1 + " failed: list prod/db1/wal/: connection reset; check the network",
        new JsonObject(r.text()).getString("error"));
  }

  @Test
  void badNameIs400() throws Exception {
    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/RECOVERYXLOG");
    assertEquals(400, r.status());
    assertTrue(new JsonObject(r.text()).getString("error")
        .startsWith("'RECOVERYXLOG' is not a WAL file name: expected 24 hex digits"), r.text());
  }

  @Test
  void damagedObjectEndsInATruncatedBodyNeverACompleteWrongOne() throws Exception {
    byte[] plain = new byte[200_000];
    new Random(3).nextBytes(plain);
    String wrongSha = sha256(new byte[] {1});
    storage.create("prod/db1/wal/0000000100000000/" + SEG1 + ".xor",
        new ByteArrayInputStream(XorPipeline.encoded(plain)),
        () -> new ObjectMetadata(wrongSha, plain.length, "xor", ""));
    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/" + SEG1);
    assertEquals(200, r.status());
    assertEquals(Integer.toString(plain.length), r.headers().get("content-length"));
    assertTrue(r.body().length < plain.length, "got " + r.body().length + " bytes");
  }

  @Test
  void downloadThatHangsMidObjectIsCutOffAfterTheStorageTimeout() throws Exception {
    agent.close();
    HangingReadStorage hanging = new HangingReadStorage(100_000);
    PgsidecarConfig quick = TestConfig.with(config.pgdata(), work,
        new PgsidecarConfig.Wal(1, 1, 0, work.resolve("spool"), 1 << 20), java.util.Optional.empty(),
        java.time.Duration.ofSeconds(1), 0);
    agent = new Agent(quick, hanging, new XorPipeline());
    agent.start();
    byte[] plain = new byte[300_000];
    new Random(4).nextBytes(plain);
    String sha = sha256(plain);
    hanging.create("prod/db1/wal/0000000100000000/" + SEG1 + ".xor",
        new ByteArrayInputStream(XorPipeline.encoded(plain)),
        () -> new ObjectMetadata(sha, plain.length, "xor", ""));
    long t0 = System.nanoTime();
    UnixHttp.Response r = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return UnixHttp.get(quick.socket(), "/v1/wal/" + SEG1);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }).get(20, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(200, r.status());
    assertTrue(r.body().length < plain.length, "truncated, got " + r.body().length);
    assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
  }

  @Test
  void nextSegmentsArePrefetchedIntoTheSpoolAndServedFromIt() throws Exception {
    store("db1", SEG1, 1000, 1);
    byte[] two = store("db1", SEG2, 1000, 2);
    byte[] three = store("db1", SEG3, 1000, 3);
    assertEquals(200, UnixHttp.get(config.socket(), "/v1/wal/" + SEG1).status());
    Path spool = config.wal().spoolDir().resolve("db1");
    long deadline = System.currentTimeMillis() + 5_000;
    while (!(Files.exists(spool.resolve(SEG2)) && Files.exists(spool.resolve(SEG3)))
        && System.currentTimeMillis() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(Files.exists(spool.resolve(SEG2)), "segment 2 spooled");
    // storage is down now: the spool still answers, and forgets what it served
    storage.failWith(new StorageException("storage down"));
    UnixHttp.Response r2 = UnixHttp.get(config.socket(), "/v1/wal/" + SEG2);
    assertEquals(200, r2.status(), r2.text());
    assertArrayEquals(two, r2.body());
    // the agent deletes the file right after the response ended, which the client may beat
    deadline = System.currentTimeMillis() + 2_000;
    while (Files.exists(spool.resolve(SEG2)) && System.currentTimeMillis() < deadline) {
      Thread.sleep(10);
    }
    assertFalse(Files.exists(spool.resolve(SEG2)), "served spool file deleted");
    UnixHttp.Response r3 = UnixHttp.get(config.socket(), "/v1/wal/" + SEG3);
    assertArrayEquals(three, r3.body());
    // the hit is reported once the response has ended, which the client may beat too
    deadline = System.currentTimeMillis() + 2_000;
    while (events.prefetchHits.get() < 2 && System.currentTimeMillis() < deadline) {
      Thread.sleep(10);
    }
    assertEquals(2, events.prefetchHits.get());
    assertEquals(java.util.List.of("OK 1000", "OK 1000", "OK 1000"), events.fetches);
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}
