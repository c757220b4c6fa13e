package io.pgsidecar.agent.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RetryTest {

  final Retry retry = new Retry(Duration.ofMillis(200), 2, Duration.ofMillis(10), Duration.ofMillis(20));

  @Test
  void hungCallIsCutOffAtTheTimeoutAndRetriedThenReportedByName() {
    AtomicInteger calls = new AtomicInteger();
    long t0 = System.nanoTime();
    IOException e = assertThrows(IOException.class, () -> retry.call("store wal/x.zst", () -> {
      calls.incrementAndGet();
      Thread.sleep(60_000);
      return "never";
    }));
    assertEquals(3, calls.get());
    assertEquals("store wal/x.zst did not finish within storage.timeout=PT0.2S; the storage may be"
        + " unreachable or slow (check the network and the storage account), or raise"
        + " storage.timeout", e.getMessage());
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(true, ms < 2_000, "took " + ms + " ms");
  }

  @Test
  void transientFailureIsRetried() throws IOException {
    AtomicInteger calls = new AtomicInteger();
    String r = retry.call("stat x", () -> {
      if (calls.incrementAndGet() < 3) {
        throw new StorageException("stat x: 503 server busy");
      }
      return "ok";
    });
    assertEquals("ok", r);
    assertEquals(3, calls.get());
  }

  @Test
  void existingObjectIsNotRetried() {
    AtomicInteger calls = new AtomicInteger();
    assertThrows(ObjectExistsException.class, () -> retry.call("store x", () -> {
      calls.incrementAndGet();
      throw new ObjectExistsException("x");
    }));
    assertEquals(1, calls.get());
  }
}
