package io.pgsidecar.agent.wal.fetch;

import java.time.Duration;
import io.pgsidecar.agent.support.Await;
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
    // an archive is there once its first push created cluster.json; "not found" needs one
    storage.create("prod/db1/cluster.json", new ByteArrayInputStream(new byte[] {'{', '}'}),
        () -> new ObjectMetadata("44136fa3", 2, "", ""));
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
    // on the admin socket: the hook socket serves only this cluster and restore.from-cluster
    assertArrayEquals(plain, UnixHttp.get(config.adminSocket(), "/v1/wal/" + SEG1 + "?cluster=old").body());
    assertEquals(404, UnixHttp.get(config.socket(), "/v1/wal/" + SEG1).status());
  }

  @Test
  void missingSegmentOfAnArchiveThatIsNotThereIs503NotNotFound() throws Exception {
    // no prod/gone/cluster.json: an unmounted volume, a wrong prefix or cluster name
    // on the admin socket: the hook socket refuses other clusters with 403
    UnixHttp.Response r = UnixHttp.get(config.adminSocket(), "/v1/wal/" + SEG1 + "?cluster=gone");
    assertEquals(503, r.status());
    assertEquals("fetching " + SEG1 + " failed: storage unavailable: " + storage.describe()
        + " holds no prod/gone/cluster.json,"
        + " so it is not the archive of cluster gone (asked for " + SEG1 + "): check that the"
        + " repository's volume is mounted and that storage.path, storage.prefix and the cluster"
        + " name are right", new JsonObject(r.text()).getString("error"));
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
    byte[] plain = new byte[3 << 20]; // more than one chunk: the head goes out before the end
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
  void damagedObjectSmallerThanAChunkIsAnErrorThatNamesItAndBothChecksums() throws Exception {
    byte[] plain = new byte[200_000];
    new Random(3).nextBytes(plain);
    String wrongSha = sha256(new byte[] {1});
    String key = "prod/db1/wal/0000000100000000/" + SEG1 + ".xor";
    storage.create(key, new ByteArrayInputStream(XorPipeline.encoded(plain)),
        () -> new ObjectMetadata(wrongSha, plain.length, "xor", ""));
    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/" + SEG1);
    // VERIFICATION_FAILED: the stored data is wrong (was 503, as if storage were down)
    assertEquals(422, r.status(), r.text());
    String error = new JsonObject(r.text()).getString("error");
    assertTrue(error.contains("refusing to serve " + SEG1 + ": " + key + " has 200000 bytes with SHA-256 "
        + sha256(plain) + ", but the archive recorded 200000 bytes with SHA-256 " + wrongSha), error);
  }

  @Test
  void downloadThatHangsMidObjectIsCutOffAfterTheStorageTimeout() throws Exception {
    agent.close();
    HangingReadStorage hanging = new HangingReadStorage(2_500_000); // after the first chunk went out
    PgsidecarConfig quick = TestConfig.with(config.pgdata(), work,
        new PgsidecarConfig.Wal(1, 1, 0, work.resolve("spool"), 1 << 20), java.util.Optional.empty(),
        java.time.Duration.ofSeconds(1), 0);
    agent = new Agent(quick, hanging, new XorPipeline());
    agent.start();
    byte[] plain = new byte[3 << 20];
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
    // generous: on a loaded 2-core machine the prefetch threads may wait for CPU a while
    Await.quietly(Duration.ofSeconds(30),
        () -> Files.exists(spool.resolve(SEG2)) && Files.exists(spool.resolve(SEG3)));
    assertTrue(Files.exists(spool.resolve(SEG2)), "segment 2 spooled");
    assertTrue(Files.exists(spool.resolve(SEG3)), "segment 3 spooled");
    // storage is down now: the spool still answers, and forgets what it served
    storage.failWith(new StorageException("storage down"));
    UnixHttp.Response r2 = UnixHttp.get(config.socket(), "/v1/wal/" + SEG2);
    assertEquals(200, r2.status(), r2.text());
    assertArrayEquals(two, r2.body());
    // the agent deletes the file right after the response ended, which the client may beat
    Await.quietly(Duration.ofSeconds(2), () -> !Files.exists(spool.resolve(SEG2)));
    assertFalse(Files.exists(spool.resolve(SEG2)), "served spool file deleted");
    UnixHttp.Response r3 = UnixHttp.get(config.socket(), "/v1/wal/" + SEG3);
    assertArrayEquals(three, r3.body());
    // the hit is reported once the response has ended, which the client may beat too
    Await.quietly(Duration.ofSeconds(2), () -> events.prefetchHits.get() >= 2);
    assertEquals(2, events.prefetchHits.get());
    assertEquals(java.util.List.of("OK 1000", "OK 1000", "OK 1000"), events.fetches);
  }

  static final java.util.Map<String, String> LINK = java.util.Map.of("X-Pgsidecar-Handoff", "link");

  /** Fetches {@code name} so that the next segments get prefetched, and waits for them. */
  void fetchAndAwaitSpool(String name, String... spooled) throws Exception {
    assertEquals(200, UnixHttp.get(config.socket(), "/v1/wal/" + name).status());
    Path spool = config.wal().spoolDir().resolve("db1");
    // generous: on a loaded 2-core machine the prefetch threads may wait for CPU a while
    for (String s : spooled) {
      Await.quietly(Duration.ofSeconds(30), () -> Files.exists(spool.resolve(s)));
      assertTrue(Files.exists(spool.resolve(s)), s + " spooled");
    }
  }

  @Test
  void spooledSegmentIsHandedOffAsAVerifiedFileToLinkAndTheAgentDropsItsLinkLater() throws Exception {
    store("db1", SEG1, 1000, 1);
    byte[] two = store("db1", SEG2, 5000, 2);
    byte[] three = store("db1", SEG3, 1000, 3);
    fetchAndAwaitSpool(SEG1, SEG2, SEG3);
    storage.failWith(new StorageException("storage down"));

    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/" + SEG2, LINK);
    assertEquals(200, r.status(), r.text());
    assertEquals(0, r.body().length);
    assertEquals(sha256(two), r.headers().get("x-pgsidecar-sha256"));
    assertEquals("5000", r.headers().get("x-pgsidecar-size"));
    Path handed = Path.of(r.headers().get("x-pgsidecar-handoff"));
    assertEquals(config.wal().spoolDir().resolve("db1").resolve(SEG2).toAbsolutePath(), handed);
    Path dest = work.resolve("RECOVERYXLOG");
    Files.createLink(dest, handed); // what wal-archiver's `ln` does
    assertArrayEquals(two, Files.readAllBytes(dest));

    // the next segment is served: the agent removes its own link, the client's stays
    UnixHttp.Response r3 = UnixHttp.get(config.socket(), "/v1/wal/" + SEG3, LINK);
    assertEquals(200, r3.status(), r3.text());
    // (after the answer has ended, which the client may beat)
    Await.quietly(Duration.ofSeconds(2), () -> !Files.exists(handed));
    assertFalse(Files.exists(handed), "the agent's link of the handed-off file is removed");
    assertArrayEquals(two, Files.readAllBytes(dest));
    assertArrayEquals(three, Files.readAllBytes(Path.of(r3.headers().get("x-pgsidecar-handoff"))));
    Await.quietly(Duration.ofSeconds(2), () -> events.prefetchHits.get() >= 2);
    assertEquals(2, events.prefetchHits.get());
  }

  @Test
  void handedOffFileTheClientCouldNotLinkIsStreamedWhenAskedAgain() throws Exception {
    store("db1", SEG1, 1000, 1);
    byte[] two = store("db1", SEG2, 5000, 2);
    fetchAndAwaitSpool(SEG1, SEG2);
    storage.failWith(new StorageException("storage down"));
    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/" + SEG2, LINK);
    Path handed = Path.of(r.headers().get("x-pgsidecar-handoff"));
    // no link (another file system, another user): the client asks for the bytes
    UnixHttp.Response again = UnixHttp.get(config.socket(), "/v1/wal/" + SEG2,
        java.util.Map.of("X-Pgsidecar-Handoff", "stream"));
    assertEquals(200, again.status(), again.text());
    assertArrayEquals(two, again.body());
    assertEquals(null, again.headers().get("x-pgsidecar-handoff"));
    Await.quietly(Duration.ofSeconds(2), () -> !Files.exists(handed));
    assertFalse(Files.exists(handed), "served spool file deleted");
  }

  @Test
  void segmentNotInTheSpoolIsStreamedEvenWhenAHandOffIsAskedFor() throws Exception {
    byte[] one = store("db1", SEG1, 3000, 1);
    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/" + SEG1, LINK);
    assertEquals(200, r.status(), r.text());
    assertEquals(null, r.headers().get("x-pgsidecar-handoff"));
    assertArrayEquals(one, r.body());
  }

  @Test
  void spoolFileChangedAfterItWasVerifiedIsNeverHandedOffOrServed() throws Exception {
    store("db1", SEG1, 1000, 1);
    byte[] two = store("db1", SEG2, 5000, 2);
    fetchAndAwaitSpool(SEG1, SEG2);
    Path spooled = config.wal().spoolDir().resolve("db1").resolve(SEG2);
    Files.write(spooled, new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/" + SEG2, LINK);
    assertEquals(200, r.status(), r.text());
    assertEquals(null, r.headers().get("x-pgsidecar-handoff"));
    assertArrayEquals(two, r.body()); // from storage
    assertEquals(0, events.prefetchHits.get());
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}
