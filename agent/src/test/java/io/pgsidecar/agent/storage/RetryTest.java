package io.pgsidecar.agent.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
  void cpuBoundAttemptsLeaveVirtualThreadsRunnable() throws Exception {
    // An attempt that compresses a WAL segment is CPU-bound for a few hundred ms. On virtual
    // threads, more of them than cores would hold every carrier, and the virtual thread that
    // answers archive_command would wait for one (the 500 ms p99 of bench/README.md).
    int busy = Runtime.getRuntime().availableProcessors() + 1;
    List<CompletableFuture<Boolean>> attempts = new ArrayList<>();
    try (Retry r = new Retry(Duration.ofSeconds(30), 0)) {
      for (int i = 0; i < busy; i++) {
        attempts.add(CompletableFuture.supplyAsync(() -> {
          try {
            return r.call("store busy", () -> {
              long end = System.nanoTime() + Duration.ofMillis(1500).toNanos();
              while (System.nanoTime() < end) {
                Thread.onSpinWait();
              }
              return Thread.currentThread().isVirtual();
            });
          } catch (IOException e) {
            throw new RuntimeException(e);
          }
        }));
      }
      Thread.sleep(200); // the attempts are spinning
      long t0 = System.nanoTime();
      Thread.ofVirtual().start(() -> { }).join();
      long waitedMs = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(waitedMs < 700, "a virtual thread waited " + waitedMs + " ms for a carrier");
      for (var a : attempts) {
        assertEquals(false, a.get(), "attempts run on platform threads");
      }
    }
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
