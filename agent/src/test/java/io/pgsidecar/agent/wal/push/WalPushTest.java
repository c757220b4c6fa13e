package io.pgsidecar.agent.wal.push;

import io.pgsidecar.agent.support.Await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.GatedStorage;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.StorageException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What a push stores, how it is answered, and the look-ahead that uploads ahead of PostgreSQL. */
class WalPushTest extends WalPushFixture {

  @Test
  void segmentIsStoredEncodedWithItsPlainChecksumBefore200() throws Exception {
    byte[] plain = pg.readyWal(SEG1, 1 << 20, 1);
    UnixHttp.Response r = push("pg_wal/" + SEG1);
    assertEquals(200, r.status(), r.text());
    JsonObject body = new JsonObject(r.text());
    assertEquals(KEY1, body.getString("key"));
    assertEquals(sha256(plain), body.getString("sha256"));
    assertEquals("stored", body.getString("status"));
    ObjectInfo info = storage.stat(KEY1).orElseThrow();
    assertEquals(new ObjectMetadata(sha256(plain), plain.length, "xor", ""), info.metadata());
    try (InputStream in = storage.open(KEY1).orElseThrow()) {
      assertArrayEquals(XorPipeline.encoded(plain), in.readAllBytes());
    }
  }

  @Test
  void pushingTheSameSegmentTwiceSucceedsAndStoresOneObject() throws Exception {
    pg.readyWal(SEG1, 4096, 1);
    assertEquals(200, push("pg_wal/" + SEG1).status());
    UnixHttp.Response again = push("pg_wal/" + SEG1);
    assertEquals(200, again.status(), again.text());
    assertEquals("already-archived", new JsonObject(again.text()).getString("status"));
    assertEquals(1, keys("prod/db1/wal/0000000100000000/").size());
  }

  @Test
  void pushOfExistingSegmentWithOtherContentIsRefusedAndTheArchiveIsUntouched() throws Exception {
    byte[] first = pg.readyWal(SEG1, 4096, 1);
    assertEquals(200, push("pg_wal/" + SEG1).status());
    byte[] second = pg.readyWal(SEG1, 4096, 2);
    UnixHttp.Response r = push("pg_wal/" + SEG1);
    assertEquals(409, r.status());
    JsonObject body = new JsonObject(r.text());
    assertEquals(sha256(first), body.getString("archivedSha256"));
    assertEquals(sha256(second), body.getString("localSha256"));
    assertEquals("refusing to archive WAL file " + SEG1 + ": the archive already holds " + KEY1
        + " with SHA-256 " + sha256(first) + " but " + pg.root().toRealPath().resolve("pg_wal/" + SEG1)
        + " has SHA-256 " + sha256(second) + "; nothing was overwritten. Another server may be"
        + " archiving into this path, or this server's history diverged: keep both copies and"
        + " investigate before archiving resumes", body.getString("error"));
    try (InputStream in = storage.open(KEY1).orElseThrow()) {
      assertArrayEquals(XorPipeline.encoded(first), in.readAllBytes());
    }
    assertEquals(List.of("OK 4096", "CONFLICT 0"), events.pushes);
    assertEquals(List.of(SEG1), events.archived);
  }

  @Test
  void timelineHistoryFileIsNeverReplaced() throws Exception {
    Files.writeString(pg.root().resolve("pg_wal/00000002.history"), "1\t0/3000000\tno recovery target\n");
    pg.ready("00000002.history");
    assertEquals(200, push("pg_wal/00000002.history").status());
    Files.writeString(pg.root().resolve("pg_wal/00000002.history"), "1\t0/5000000\tother history\n");
    UnixHttp.Response r = push("pg_wal/00000002.history");
    assertEquals(409, r.status());
    assertTrue(new JsonObject(r.text()).getString("error")
        .startsWith("refusing to archive timeline history file 00000002.history: the archive"
            + " already holds prod/db1/wal/00000002.history.xor with SHA-256 "), r.text());
    try (InputStream in = storage.open("prod/db1/wal/00000002.history.xor").orElseThrow()) {
      assertEquals("1\t0/3000000\tno recovery target\n",
          new String(XorPipeline.encoded(in.readAllBytes()), StandardCharsets.UTF_8));
    }
  }

  @Test
  void partialAndBackupHistoryFilesAreStoredUnderTheirSegmentsFolder() throws Exception {
    pg.readyWal(SEG1 + ".partial", 100, 1);
    pg.readyWal(SEG1 + ".00000028.backup", 100, 2);
    assertEquals(200, push("pg_wal/" + SEG1 + ".partial").status());
    assertEquals(200, push("pg_wal/" + SEG1 + ".00000028.backup").status());
    assertEquals(List.of(
        "prod/db1/wal/0000000100000000/" + SEG1 + ".00000028.backup.xor",
        "prod/db1/wal/0000000100000000/" + SEG1 + ".partial.xor"),
        keys("prod/db1/wal/"));
  }

  @Test
  void storageFailureIs503AndNothingIsAcknowledged() throws Exception {
    pg.readyWal(SEG1, 100, 1);
    storage.failWith(new StorageException("create prod/db1/...: connection refused; check the endpoint"));
    UnixHttp.Response r = push("pg_wal/" + SEG1);
    assertEquals(503, r.status());
    assertTrue(new JsonObject(r.text()).getString("error").contains("connection refused"), r.text());
    storage.failWith(null);
    assertEquals(200, push("pg_wal/" + SEG1).status());
  }

  @Test
  void lookAheadUploadsReadySegmentsSoLaterPushesAreAnsweredFromMemory() throws Exception {
    List<String> names = List.of(SEG1, SEG2, "000000010000000000000003", "000000010000000000000004");
    for (int i = 0; i < names.size(); i++) {
      pg.readyWal(names.get(i), 64 * 1024, i);
      pg.ready(names.get(i));
    }
    List<String> statusBefore = list(pg.root().resolve("pg_wal/archive_status"));
    assertEquals(200, push("pg_wal/" + SEG1).status());
    Await.quietly(Duration.ofSeconds(10), () -> keys("prod/db1/wal/").size() >= 4);
    assertEquals(4, keys("prod/db1/wal/").size());
    // the storage is now down: the look-ahead's work answers the next pushes
    storage.failWith(new StorageException("storage down"));
    for (String n : names.subList(1, 4)) {
      UnixHttp.Response r = push("pg_wal/" + n);
      assertEquals(200, r.status(), r.text());
    }
    assertEquals(statusBefore, list(pg.root().resolve("pg_wal/archive_status")));
    assertEquals(3, events.lookaheadHits.get());
    assertEquals(names, events.archived);
  }

  @Test
  void pushOfASegmentStillQueuedForLookAheadIsUploadedAtOnce() throws Exception {
    GatedStorage gated = new GatedStorage(key -> key.contains(SEG2));
    PgsidecarConfig one = restartWithOneLookAheadSlot(gated);
    String seg3 = "000000010000000000000003";
    String seg4 = "000000010000000000000004";
    for (String n : List.of(SEG1, SEG2, seg3, seg4)) {
      pg.readyWal(n, 1000, 1);
      pg.ready(n);
    }
    try {
      assertEquals(200, UnixHttp.post(one.socket(), "/v1/wal/push", "{\"path\":\"pg_wal/" + SEG1 + "\"}").status());
      // the only look-ahead slot hangs on segment 2; segments 3 and 4 wait behind it
      assertTrue(gated.entered.await(10, java.util.concurrent.TimeUnit.SECONDS));
      UnixHttp.Response r = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return UnixHttp.post(one.socket(), "/v1/wal/push", "{\"path\":\"pg_wal/" + seg4 + "\"}");
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(200, r.status(), r.text());
      assertTrue(gated.inner.stat("prod/db1/wal/0000000100000000/" + seg4 + ".xor").isPresent());
    } finally {
      gated.gate.countDown();
    }
  }

  @Test
  void pushSaysWhetherTheLookAheadHadStoredTheSegmentOrItWaitedForTheUpload() throws Exception {
    GatedStorage gated = new GatedStorage(key -> key.contains(SEG2));
    PgsidecarConfig one = restartWithOneLookAheadSlot(gated);
    String seg3 = "000000010000000000000003";
    for (String n : List.of(SEG1, SEG2, seg3)) {
      pg.readyWal(n, 1000, 1);
      pg.ready(n);
    }
    java.util.concurrent.CompletableFuture<UnixHttp.Response> second;
    try {
      UnixHttp.Response first = UnixHttp.post(one.socket(), "/v1/wal/push", "{\"path\":\"pg_wal/" + SEG1 + "\"}");
      assertEquals("uploaded", new JsonObject(first.text()).getString("answer"), first.text());
      // the look-ahead's upload of segment 2 hangs; the push of segment 2 waits for it
      assertTrue(gated.entered.await(10, java.util.concurrent.TimeUnit.SECONDS));
      second = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return UnixHttp.post(one.socket(), "/v1/wal/push", "{\"path\":\"pg_wal/" + SEG2 + "\"}");
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      Thread.sleep(300);
      assertFalse(second.isDone(), "the push of " + SEG2 + " answered before its upload finished");
    } finally {
      gated.gate.countDown();
    }
    UnixHttp.Response r2 = second.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(200, r2.status(), r2.text());
    assertEquals("joined", new JsonObject(r2.text()).getString("answer"), r2.text());
    Await.quietly(Duration.ofSeconds(10),
        () -> gated.inner.stat("prod/db1/wal/0000000100000000/" + seg3 + ".xor").isPresent());
    UnixHttp.Response r3 = UnixHttp.post(one.socket(), "/v1/wal/push", "{\"path\":\"pg_wal/" + seg3 + "\"}");
    assertEquals("look-ahead", new JsonObject(r3.text()).getString("answer"), r3.text());
  }

  @Test
  void lookAheadSkipsHistoryAndPartialFiles() throws Exception {
    pg.readyWal(SEG1, 100, 1);
    pg.ready(SEG1);
    Files.writeString(pg.root().resolve("pg_wal/00000002.history"), "1\t0/3000000\tx\n");
    pg.ready("00000002.history");
    pg.readyWal(SEG2 + ".partial", 100, 2);
    pg.ready(SEG2 + ".partial");
    pg.readyWal("000000020000000000000002", 100, 3);
    pg.ready("000000020000000000000002");
    assertEquals(200, push("pg_wal/" + SEG1).status());
    Await.quietly(Duration.ofSeconds(5), () -> keys("prod/db1/wal/").size() >= 2);
    Thread.sleep(200);
    assertEquals(List.of(KEY1, "prod/db1/wal/0000000200000000/000000020000000000000002.xor"),
        keys("prod/db1/wal/"));
  }

  /** Restarts the agent on {@code storage} with a single look-ahead upload slot. */
  PgsidecarConfig restartWithOneLookAheadSlot(GatedStorage storage) throws IOException {
    agent.close();
    PgsidecarConfig one = TestConfig.with(pg.root(), work,
        new PgsidecarConfig.Wal(1, 8, 0, work.resolve("spool"), 1 << 20), Optional.empty(),
        Duration.ofSeconds(30), 0);
    agent = new Agent(one, storage, new XorPipeline());
    agent.start();
    return one;
  }
}
