package io.pgsidecar.agent.wal.push;

import io.pgsidecar.agent.support.Await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.EventLoopGuard;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.GatedStorage;
import io.pgsidecar.agent.support.RecordingEvents;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.StorageException;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalPushTest {

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
  void nameThatIsNotAWalFileIs400WithTheAcceptedForms() throws Exception {
    UnixHttp.Response r = push("../x");
    assertEquals(400, r.status());
    assertEquals("'x' is not a WAL file name: expected 24 hex digits (segment), XXXXXXXX.history,"
        + " <segment>.partial or <segment>.XXXXXXXX.backup (upper-case hex)",
        new JsonObject(r.text()).getString("error"));
    UnixHttp.Response ready = push("pg_wal/archive_status/" + SEG1 + ".ready");
    assertEquals(400, ready.status());
  }

  @Test
  void pushIntoAnotherClusterIs400() throws Exception {
    pg.readyWal(SEG1, 100, 1);
    UnixHttp.Response r = UnixHttp.post(config.socket(), "/v1/wal/push",
        new JsonObject().put("path", "pg_wal/" + SEG1).put("cluster", "db2").encode());
    assertEquals(400, r.status());
    assertEquals("this agent archives only into cluster 'db1', not 'db2'; push without --cluster"
        + " (it is for fetching another cluster's WAL)", new JsonObject(r.text()).getString("error"));
    UnixHttp.Response own = UnixHttp.post(config.socket(), "/v1/wal/push",
        "{\"path\":\"pg_wal/" + SEG1 + "\",\"cluster\":null}");
    assertEquals(200, own.status(), own.text());
  }

  @Test
  void pathLeavingPgdataIs400() throws Exception {
    UnixHttp.Response r = push("pg_wal/../../elsewhere/" + SEG1);
    assertEquals(400, r.status());
    assertEquals("path 'pg_wal/../../elsewhere/" + SEG1 + "' leaves PGDATA (" + pg.root()
        + "); send archive_command's %p, a path inside the data directory",
        new JsonObject(r.text()).getString("error"));
    UnixHttp.Response abs = push("/etc/" + SEG1);
    assertEquals(400, abs.status());
    assertEquals("path '/etc/" + SEG1 + "' is absolute; send archive_command's %p, which is"
        + " relative to the data directory (the agent sees PGDATA at " + pg.root() + ")",
        new JsonObject(abs.text()).getString("error"));
  }

  @Test
  void symbolicLinkOutOfPgdataIs400AndNothingIsStored() throws Exception {
    Path outside = Files.createDirectories(work.resolve("outside"));
    Files.write(outside.resolve(SEG2), new byte[] {1, 2, 3});
    Files.createSymbolicLink(pg.root().resolve("pg_wal/" + SEG2), outside.resolve(SEG2));
    pg.ready(SEG2);
    UnixHttp.Response r = push("pg_wal/" + SEG2);
    assertEquals(400, r.status());
    assertEquals(refusal(SEG2, "is a symbolic link"), new JsonObject(r.text()).getString("error"));
    assertEquals(List.of(), keys("prod/db1/wal/"));
    assertEquals(List.of("pg_wal/" + SEG2), events.refused);
    // the next push starts a look-ahead scan, which still sees SEG2's .ready: the push already
    // reported that refusal, so the look-ahead does not read the link nor report it again
    pg.readyWal(SEG1, 100, 1);
    assertEquals(200, push("pg_wal/" + SEG1).status());
    Thread.sleep(300);
    assertEquals(List.of(KEY1), keys("prod/db1/wal/"));
    assertEquals(List.of("pg_wal/" + SEG2), events.refused);
  }

  static String refusalText(Path file, String what) {
    return "refusing to archive " + file + ": it " + what + "; PostgreSQL only writes regular"
        + " files into pg_wal, so this one was put there by something else. Remove it and its"
        + " archive_status/.ready file";
  }

  String refusal(String name, String what) {
    return refusalText(pg.root().resolve("pg_wal").resolve(name), what);
  }

  @Test
  void aLinkToAFileInsidePgdataADirectoryAndAFifoAreRefusedToo() throws Exception {
    // a link that stays inside PGDATA was archived before: pg_control, a key file, anything
    Files.createSymbolicLink(pg.root().resolve("pg_wal/" + SEG1), pg.root().resolve("global/pg_control"));
    Files.createDirectory(pg.root().resolve("pg_wal/" + SEG2));
    String seg3 = "000000010000000000000003";
    assertEquals(0, new ProcessBuilder("mkfifo", pg.root().resolve("pg_wal/" + seg3).toString())
        .start().waitFor());
    for (String n : List.of(SEG1, SEG2, seg3)) {
      pg.ready(n);
    }
    assertEquals(refusal(SEG1, "is a symbolic link"), errorOf(push("pg_wal/" + SEG1), 400));
    assertEquals(refusal(SEG2, "is a directory"), errorOf(push("pg_wal/" + SEG2), 400));
    assertEquals(refusal(seg3, "is not a regular file (a FIFO, socket or device)"),
        errorOf(push("pg_wal/" + seg3), 400));
    assertEquals(List.of(), keys("prod/db1/wal/"));
    // each push reports its refusal (the look-ahead a push starts may report it too)
    assertEquals(List.of("pg_wal/" + SEG1, "pg_wal/" + SEG2, "pg_wal/" + seg3),
        events.refused.stream().distinct().sorted().toList());
  }

  @Test
  void aPushOfAFileWithoutItsReadyIsRefused() throws Exception {
    pg.wal(SEG1, 100, 1);
    assertEquals("refusing to archive " + SEG1 + ": PostgreSQL has not marked it ready ("
        + pg.root().resolve("pg_wal/archive_status/" + SEG1 + ".ready") + " does not exist);"
        + " archive_command is only called for files PostgreSQL marked ready, so something else"
        + " asked for it. Archive WAL only through archive_command",
        errorOf(push("pg_wal/" + SEG1), 400));
    assertEquals(List.of(), keys("prod/db1/wal/"));
    assertEquals(List.of("pg_wal/" + SEG1), events.refused);
    pg.ready(SEG1);
    assertEquals(200, push("pg_wal/" + SEG1).status());
  }

  @Test
  void aFileOutsidePgWalOrOnTimelineZeroIsRefused() throws Exception {
    Files.write(pg.root().resolve(SEG1), new byte[] {1});
    pg.ready(SEG1);
    assertEquals("path '" + SEG1 + "' is not directly in pg_wal; the agent archives only"
        + " pg_wal/<name>, which is what archive_command's %p gives", errorOf(push(SEG1), 400));
    String tli0 = "000000000000000000000001";
    pg.readyWal(tli0, 100, 1);
    assertEquals("'" + tli0 + "' is not a WAL file name: timeline 00000000 does not exist"
        + " (PostgreSQL's timelines start at 00000001)", errorOf(push("pg_wal/" + tli0), 400));
    assertEquals(List.of(), keys("prod/db1/wal/"));
  }

  @Test
  void lookAheadReadsOnlyRegularFilesPostgresWouldArchiveAndReportsEachRefusalOnce() throws Exception {
    Path outside = Files.createDirectories(work.resolve("outside"));
    Files.writeString(outside.resolve("secret"), "PGPASSWORD=hunter2\n");
    String link = "000000010000000000000002";
    String dir = "000000010000000000000003";
    String fifo = "000000010000000000000004";
    String tli0 = "000000000000000000000005";
    String good = "000000010000000000000006";
    pg.readyWal(SEG1, 100, 1);
    Files.createSymbolicLink(pg.root().resolve("pg_wal/" + link), outside.resolve("secret"));
    Files.createDirectory(pg.root().resolve("pg_wal/" + dir));
    assertEquals(0, new ProcessBuilder("mkfifo", pg.root().resolve("pg_wal/" + fifo).toString())
        .start().waitFor());
    pg.wal(tli0, 100, 5);
    pg.readyWal(good, 100, 6);
    for (String n : List.of(link, dir, fifo, tli0)) {
      pg.ready(n);
    }
    assertEquals(200, push("pg_wal/" + SEG1).status());
    Await.quietly(Duration.ofSeconds(10),
        () -> keys("prod/db1/wal/").size() >= 2 && events.refused.size() >= 4);
    // a second push triggers another scan: refusals are not reported again
    assertEquals(200, push("pg_wal/" + good).status());
    Thread.sleep(300);
    assertEquals(List.of(KEY1, "prod/db1/wal/0000000100000000/" + good + ".xor"), keys("prod/db1/wal/"));
    assertEquals(List.of("pg_wal/" + tli0, "pg_wal/" + link, "pg_wal/" + dir, "pg_wal/" + fifo),
        events.refused.stream().sorted().toList());
  }

  static String errorOf(UnixHttp.Response r, int status) {
    assertEquals(status, r.status(), r.text());
    return new JsonObject(r.text()).getString("error");
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
