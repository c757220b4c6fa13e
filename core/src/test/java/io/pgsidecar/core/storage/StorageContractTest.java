package io.pgsidecar.core.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * The {@link Storage} contract, run against every driver: a subclass supplies a fresh, empty store
 * per test and, when the driver has a location that can be missing, one whose location is missing.
 * Shipped in core's test-jar so modules with drivers of their own can run it too.
 */
public abstract class StorageContractTest {

  /** Over 100 MB and not a multiple of any block size. */
  static final long LARGE = 100L * 1024 * 1024 + 12_345;

  protected Storage storage;
  /** The running test, for drivers that tune the store per test (e.g. block size). */
  protected TestInfo testInfo;

  /** A fresh, empty store for one test. */
  protected abstract Storage newStorage() throws Exception;

  /** A store whose location (directory, container) does not exist; empty when it cannot be. */
  protected abstract Optional<Storage> storageAtMissingLocation() throws Exception;

  /** The exact message of {@link Storage#probe()} on {@link #storageAtMissingLocation()}. */
  protected abstract String missingLocationMessage();

  @BeforeEach
  void openStorage(TestInfo info) throws Exception {
    testInfo = info;
    storage = newStorage();
  }

  @AfterEach
  void closeStorage() throws Exception {
    storage.close();
  }

  protected static ObjectMetadata meta(String sha) {
    return new ObjectMetadata(sha, 42, "zstd", "ABCDEF0123456789", Map.of("source-host", "db-0"));
  }

  protected static InputStream bytes(String s) {
    return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
  }

  protected static String read(Storage s, String key) throws IOException {
    try (InputStream in = s.open(key).orElseThrow()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private List<String> keys(String prefix) throws IOException {
    try (Stream<ObjectInfo> s = storage.list(prefix)) {
      return s.map(ObjectInfo::key).toList();
    }
  }

  @Test
  void createdObjectReadsBackWithItsContentSizeAndMetadata() throws Exception {
    String key = "prod/db1/wal/0000000100000000/000000010000000000000001.zst";
    ObjectInfo created = storage.create(key, bytes("segment bytes"), () -> meta("aa11"));

    assertEquals(key, created.key());
    assertEquals(13, created.storedSize());
    assertEquals(meta("aa11"), created.metadata());
    ObjectInfo stat = storage.stat(key).orElseThrow();
    assertEquals(13, stat.storedSize());
    assertEquals(meta("aa11"), stat.metadata());
    assertEquals("segment bytes", read(storage, key));
  }

  @Test
  void emptyObjectRoundTrips() throws Exception {
    storage.create("empty/object", InputStream.nullInputStream(), () -> meta("e3b0"));

    assertEquals(0, storage.stat("empty/object").orElseThrow().storedSize());
    assertEquals("", read(storage, "empty/object"));
  }

  @Test
  void metadataIsAskedForOnlyAfterTheContentWasReadToItsEnd() throws Exception {
    var content = new GeneratedContent(7, 3 * 1024 * 1024 + 5);
    storage.create("late/meta", content, () -> {
      try {
        assertEquals(-1, content.read(), "content not exhausted when metadata was asked for");
      } catch (IOException e) {
        throw new AssertionError(e);
      }
      return meta(content.sha256());
    });

    String stored = storage.stat("late/meta").orElseThrow().metadata().plainSha256();
    assertEquals(stored, GeneratedContent.sha256Of(storage.open("late/meta").orElseThrow()));
  }

  @Test
  void createOfExistingKeyIsRefusedAndTheOriginalIsUntouched() throws Exception {
    storage.create("base/1/backup.json", bytes("original"), () -> meta("0001"));

    var e = assertThrows(ObjectConflictException.class,
        () -> storage.create("base/1/backup.json", bytes("impostor"), () -> meta("0002")));

    assertEquals("object base/1/backup.json already exists with other content (stored: SHA-256"
        + " 0001, 42 bytes; this write: SHA-256 0002, 42 bytes); nothing was overwritten: find out"
        + " which writer stored it (two agents on one path?) before removing either",
        e.getMessage());
    assertEquals("original", read(storage, "base/1/backup.json"));
    assertEquals(meta("0001"), storage.stat("base/1/backup.json").orElseThrow().metadata());
  }

  @Test
  void createOfExistingKeyWithTheSameContentReturnsTheStoredObject() throws Exception {
    // A retry whose first reply was lost finds its own object: success, nothing rewritten.
    ObjectInfo first = storage.create("dumps/1/dump.json", bytes("same"), () -> meta("5a3e"));

    ObjectInfo again = storage.create("dumps/1/dump.json", bytes("same"), () -> meta("5a3e"));

    assertEquals(first.metadata(), again.metadata());
    assertEquals(first.storedSize(), again.storedSize());
    assertEquals("same", read(storage, "dumps/1/dump.json"));
    assertEquals(List.of("dumps/1/dump.json"), keys("dumps/"));
  }

  @Test
  @Timeout(120)
  void concurrentCreatesOfOneKeyHaveExactlyOneWinner() throws Exception {
    int writers = 12;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    var start = new CountDownLatch(1);
    try {
      List<Future<String>> outcomes = new ArrayList<>();
      for (int i = 0; i < writers; i++) {
        // Half small (one request on Azure), half several blocks long (staged blocks).
        long size = i % 2 == 0 ? 1000 + i : 2 * 1024 * 1024 + 17 * i;
        long seed = i;
        outcomes.add(pool.submit(() -> {
          var content = new GeneratedContent(seed, size);
          start.await();
          try {
            storage.create("race/key", content, () -> meta(content.sha256()));
            return "won:" + content.sha256();
          } catch (ObjectExistsException e) {
            return "refused";
          }
        }));
      }
      start.countDown();
      List<String> results = new ArrayList<>();
      for (var f : outcomes) {
        results.add(f.get());
      }
      List<String> won = results.stream().filter(r -> r.startsWith("won:")).toList();
      assertEquals(1, won.size(), "winners: " + results);
      assertEquals(writers - 1, Collections.frequency(results, "refused"), results.toString());
      String winnerSha = won.get(0).substring(4);
      assertEquals(winnerSha, storage.stat("race/key").orElseThrow().metadata().plainSha256());
      assertEquals(winnerSha, GeneratedContent.sha256Of(storage.open("race/key").orElseThrow()));
      assertEquals(List.of("race/key"), keys("race/"));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void missingObjectIsAnEmptyResultNotAnError() throws Exception {
    // In a repository that holds something: an empty filesystem root is an unmounted volume.
    storage.create("present/object", bytes("x"), () -> meta("0"));
    assertEquals(Optional.empty(), storage.stat("no/such/object"));
    assertEquals(Optional.empty(), storage.open("no/such/object"));
    assertFalse(storage.delete("no/such/object"));
    assertEquals(List.of(), keys("no/"));
  }

  @Test
  void deletedObjectIsGoneAndItsKeyCanBeCreatedAgain() throws Exception {
    storage.create("dumps/1/app.dump.zst", bytes("first"), () -> meta("0001"));

    assertTrue(storage.delete("dumps/1/app.dump.zst"));

    assertEquals(Optional.empty(), storage.stat("dumps/1/app.dump.zst"));
    assertEquals(Optional.empty(), storage.open("dumps/1/app.dump.zst"));
    assertEquals(List.of(), keys("dumps/"));
    assertFalse(storage.delete("dumps/1/app.dump.zst"));
    storage.create("dumps/1/app.dump.zst", bytes("second"), () -> meta("0002"));
    assertEquals("second", read(storage, "dumps/1/app.dump.zst"));
    assertEquals(meta("0002"), storage.stat("dumps/1/app.dump.zst").orElseThrow().metadata());
  }

  @Test
  void listingIsInAscendingKeyOrderWithSizesAndMetadata() throws Exception {
    // '-' < '/' < '0' < 'b': a filesystem walk must not list a directory before "a-c".
    List<String> expected = List.of("a-c", "a/b", "a/c/d", "a0", "ab", "b");
    List<String> shuffled = new ArrayList<>(expected);
    Collections.shuffle(shuffled, new Random(3));
    for (String k : shuffled) {
      storage.create(k, bytes("content of " + k), () -> meta("sha-" + k));
    }

    List<ObjectInfo> listed;
    try (Stream<ObjectInfo> s = storage.list("")) {
      listed = s.toList();
    }

    assertEquals(expected, listed.stream().map(ObjectInfo::key).toList());
    for (ObjectInfo info : listed) {
      assertEquals(("content of " + info.key()).length(), info.storedSize(), info.key());
      assertEquals(meta("sha-" + info.key()), info.metadata(), info.key());
    }
  }

  @Test
  void listingShowsOnlyKeysUnderThePrefix() throws Exception {
    for (String k : List.of("x/1", "x/2", "xy/1", "y/1", "x0")) {
      storage.create(k, bytes(k), () -> meta("0"));
    }

    assertEquals(List.of("x/1", "x/2"), keys("x/"));
    assertEquals(List.of("x/1", "x/2", "x0", "xy/1"), keys("x"));
    assertEquals(List.of("y/1"), keys("y/"));
    assertEquals(List.of(), keys("nothing/"));
    assertEquals(List.of(), keys("x/3"));
  }

  @Test
  @Timeout(180)
  void listingOfThousandsOfKeysIsCompleteOrderedAndCanStopEarly() throws Exception {
    List<String> expected = IntStream.range(0, 3000)
        .mapToObj(i -> String.format("many/%02d/%05d", i / 500, i)).toList();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<ObjectInfo>> created = new ArrayList<>();
      for (String k : expected) {
        created.add(pool.submit(() -> storage.create(k, bytes(k), () -> meta("0"))));
      }
      for (var f : created) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }

    assertEquals(expected, keys("many/"));
    try (Stream<ObjectInfo> s = storage.list("many/")) {
      assertEquals(expected.subList(0, 3), s.limit(3).map(ObjectInfo::key).toList());
    }
    assertEquals(expected.subList(2500, 3000), keys("many/05/"));
  }

  @Test
  @Timeout(120)
  void largeObjectStreamsThroughWithoutBufferingAndKeepsItsSha256() throws Exception {
    var content = new GeneratedContent(42, LARGE);
    long t0 = System.nanoTime();
    ObjectInfo info = storage.create("base/big/data.tar.zst", content,
        () -> new ObjectMetadata(content.sha256(), LARGE, "none", ""));
    long t1 = System.nanoTime();
    String readBack = GeneratedContent.sha256Of(storage.open("base/big/data.tar.zst").orElseThrow());
    long t2 = System.nanoTime();

    System.out.printf("%s: %d bytes, create %.1f MB/s, read %.1f MB/s%n", storage.describe(),
        LARGE, LARGE / 1e6 / ((t1 - t0) / 1e9), LARGE / 1e6 / ((t2 - t1) / 1e9));
    assertEquals(LARGE, info.storedSize());
    assertEquals(info.metadata().plainSha256(), readBack);
    assertEquals(LARGE, storage.stat("base/big/data.tar.zst").orElseThrow().storedSize());
  }

  @Test
  void failingContentStreamLeavesNoObject() throws Exception {
    var broken = new GeneratedContent(1, 10 * 1024 * 1024, 3 * 1024 * 1024 + 7);

    var e = assertThrows(IOException.class,
        () -> storage.create("wal/broken.zst", broken, () -> meta("never")));

    assertTrue(e.getMessage().contains("boom: producer failed at byte 3145735"), e.getMessage());
    assertEquals(Optional.empty(), storage.stat("wal/broken.zst"));
    assertEquals(List.of(), keys("wal/"));
    storage.create("wal/broken.zst", bytes("retried"), () -> meta("0003"));
    assertEquals("retried", read(storage, "wal/broken.zst"));
  }

  @Test
  void missingLocationIsExplainedByProbeAndOperations() throws Exception {
    Optional<Storage> missing = storageAtMissingLocation();
    Assumptions.assumeTrue(missing.isPresent(), "this driver has no location that can be missing");
    try (Storage s = missing.get()) {
      var probe = assertThrows(StorageException.class, s::probe);
      assertEquals(missingLocationMessage(), probe.getMessage());

      var create = assertThrows(StorageException.class,
          () -> s.create("wal/x.zst", bytes("x"), () -> meta("0")));
      assertTrue(create.getMessage().contains("create it or fix storage."), create.getMessage());
      var list = assertThrows(StorageException.class, () -> s.list("wal/"));
      assertTrue(list.getMessage().contains("create it or fix storage."), list.getMessage());
      // A missing location is never mistaken for a missing object.
      var stat = assertThrows(StorageException.class, () -> s.stat("wal/x.zst"));
      assertTrue(stat.getMessage().contains("create it or fix storage."), stat.getMessage());
      var open = assertThrows(StorageException.class, () -> s.open("wal/x.zst"));
      assertTrue(open.getMessage().contains("create it or fix storage."), open.getMessage());
    }
  }

  @Test
  void byteContentIsStoredExactly() throws Exception {
    byte[] all = new byte[256];
    for (int i = 0; i < all.length; i++) {
      all[i] = (byte) i;
    }
    storage.create("bytes/all", new ByteArrayInputStream(all), () -> meta("0"));
    try (InputStream in = storage.open("bytes/all").orElseThrow()) {
      assertArrayEquals(all, in.readAllBytes());
    }
  }
}
