package io.pgsidecar.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class InstrumentedStorageTest {
  private final AgentMetrics metrics = new AgentMetrics("db1");
  private final MemoryStorage memory = new MemoryStorage();
  private final Storage storage = new InstrumentedStorage(memory, metrics);

  @AfterEach
  void close() {
    metrics.close();
  }

  private double requests(String operation, String result) {
    return Scrape.parse(metrics.scrape())
        .value("pgsidecar_storage_requests_total", "operation", operation, "result", result);
  }

  private ObjectInfo put(String key) throws IOException {
    return storage.create(key, new ByteArrayInputStream(new byte[] {1, 2, 3}),
        () -> new ObjectMetadata("0".repeat(64), 3, "none", ""));
  }

  @Test
  void createOfANewKeyIsOkAndOfAnExistingKeyWithOtherContentIsAConflict() throws IOException {
    put("db1/wal/a");
    put("db1/wal/a"); // its own content again: a retry whose reply was lost, ok
    ObjectExistsException e = assertThrows(ObjectExistsException.class,
        () -> storage.create("db1/wal/a", new ByteArrayInputStream(new byte[] {9, 9, 9}),
            () -> new ObjectMetadata("1".repeat(64), 3, "none", "")));
    assertTrue(e.getMessage().startsWith("object db1/wal/a already exists with other content"),
        e.getMessage());
    assertEquals(2, requests("create", "ok"));
    assertEquals(1, requests("create", "conflict"));
    assertEquals(0, requests("create", "error"));
    assertEquals(3, Scrape.parse(metrics.scrape())
        .value("pgsidecar_storage_request_duration_seconds_count", "operation", "create"));
  }

  @Test
  void missingObjectsAreNotFoundNotErrors() throws IOException {
    assertTrue(storage.stat("db1/none").isEmpty());
    assertTrue(storage.open("db1/none").isEmpty());
    assertFalse(storage.delete("db1/none"));
    assertEquals(1, requests("stat", "not_found"));
    assertEquals(1, requests("open", "not_found"));
    assertEquals(1, requests("delete", "not_found"));
  }

  @Test
  void foundObjectsAreOk() throws IOException {
    put("db1/x");
    assertTrue(storage.stat("db1/x").isPresent());
    try (InputStream in = storage.open("db1/x").orElseThrow()) {
      assertEquals(3, in.readAllBytes().length);
    }
    assertTrue(storage.delete("db1/x"));
    assertEquals(1, requests("stat", "ok"));
    assertEquals(1, requests("open", "ok"));
    assertEquals(1, requests("delete", "ok"));
  }

  @Test
  void failuresAreCountedAndRethrownUnchanged() {
    StorageException failure = new StorageException("stat of db1/x failed: connection refused; check the endpoint");
    memory.failWith(failure);
    assertSame(failure, assertThrows(StorageException.class, () -> storage.stat("db1/x")));
    assertSame(failure, assertThrows(StorageException.class, () -> storage.probe()));
    assertSame(failure, assertThrows(StorageException.class, () -> storage.list("db1/")));
    assertEquals(1, requests("stat", "error"));
    assertEquals(1, requests("probe", "error"));
    assertEquals(1, requests("list", "error"));
  }

  @Test
  void aListingIsOneRequestRecordedWhenClosed() throws IOException {
    put("db1/a");
    put("db1/b");
    try (Stream<ObjectInfo> listed = storage.list("db1/")) {
      assertEquals(2, listed.count());
      assertEquals(0, requests("list", "ok"));
    }
    assertEquals(1, requests("list", "ok"));
  }

  @Test
  void aListingThatFailsWhilePagingIsAnError() throws IOException {
    Storage failingPages = new InstrumentedStorage(new PagingFailure(), metrics);
    try (Stream<ObjectInfo> listed = failingPages.list("db1/")) {
      UncheckedIOException e = assertThrows(UncheckedIOException.class, listed::count);
      assertEquals("listing db1/ failed at page 2", e.getCause().getMessage());
    }
    assertEquals(1, requests("list", "error"));
    assertEquals(0, requests("list", "ok"));
  }

  @Test
  void aFailureOfTheCallersOwnCodeWhileListingIsNotAStorageError() throws IOException {
    put("db1/a");
    try (Stream<ObjectInfo> listed = storage.list("db1/")) {
      assertThrows(IllegalStateException.class, () -> listed.forEach(i -> {
        throw new IllegalStateException("caller bug");
      }));
    }
    assertEquals(0, requests("list", "error"));
    assertEquals(1, requests("list", "ok"));
  }

  /** A driver whose listing fails on its second page. */
  private static final class PagingFailure implements Storage {
    @Override
    public Stream<ObjectInfo> list(String prefix) {
      ObjectInfo first = new ObjectInfo(prefix + "a", 1, Instant.EPOCH, new ObjectMetadata("0".repeat(64), 1, "none", ""));
      return Stream.concat(Stream.of(first), Stream.<ObjectInfo>generate(() -> {
        throw new UncheckedIOException(new IOException("listing " + prefix + " failed at page 2"));
      }).limit(1));
    }

    @Override
    public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Optional<InputStream> open(String key) {
      throw new UnsupportedOperationException();
    }

    @Override
    public boolean delete(String key) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void probe() {}

    @Override
    public String describe() {
      return "paging-failure";
    }
  }
}
