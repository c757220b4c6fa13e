package io.pgsidecar.agent.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.retry.RetryPolicy.Operation;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RetryTest {

  @Test
  void hungCallIsCutOffAtItsOperationsDeadlineOnceAndTheGiveUpIsReported() {
    List<String> giveUps = new CopyOnWriteArrayList<>();
    var settings = new RetryPolicy.Settings(Map.of(Operation.PUSH, Duration.ofMillis(200),
        Operation.FETCH, Duration.ofMillis(400), Operation.BLOCK, Duration.ofSeconds(1),
        Operation.COMMIT, Duration.ofSeconds(1), Operation.READ, Duration.ofSeconds(1),
        Operation.LIST, Duration.ofSeconds(1)), Duration.ofMillis(1), Duration.ofMillis(1), 5);
    try (Retry push = new Retry(settings, (op, what, attempts, elapsed, last) ->
        giveUps.add(op.label() + " " + what + " " + attempts))) {
      AtomicInteger calls = new AtomicInteger();
      long t0 = System.nanoTime();
      IOException e = assertThrows(IOException.class, () -> push.call("store wal/x.zst", () -> {
        calls.incrementAndGet();
        Thread.sleep(60_000);
        return "never";
      }));
      assertEquals(1, calls.get(), "the driver retries requests; this layer must not retry again");
      assertEquals("store wal/x.zst did not finish within storage.retry.push-deadline=PT0.2S: the"
          + " storage is unreachable or too slow (check the network and the storage account), or"
          + " raise storage.retry.push-deadline", e.getMessage());
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms < 1_000, "took " + ms + " ms");

      Retry fetch = push.forOperation(Operation.FETCH);
      IOException f = assertThrows(IOException.class, () -> fetch.call("open wal/y.zst", () -> {
        Thread.sleep(60_000);
        return "never";
      }));
      assertTrue(f.getMessage().startsWith("open wal/y.zst did not finish within"
          + " storage.retry.fetch-deadline=PT0.4S"), f.getMessage());
      assertEquals(List.of("push store wal/x.zst 1", "fetch open wal/y.zst 1"), giveUps);
    }
  }

  @Test
  void failureIsRethrownAsItCameWithoutAnotherTry() {
    try (Retry retry = new Retry(Duration.ofSeconds(5))) {
      AtomicInteger calls = new AtomicInteger();
      var e = assertThrows(StorageException.class, () -> retry.call("stat x", () -> {
        calls.incrementAndGet();
        throw new StorageException("stat x: 503 server busy");
      }));
      assertEquals("stat x: 503 server busy", e.getMessage());
      assertEquals(1, calls.get());
    }
  }

  @Test
  void cpuBoundCallsLeaveVirtualThreadsRunnable() throws Exception {
    // A call that compresses a WAL segment is CPU-bound for a few hundred ms. On virtual
    // threads, more of them than cores would hold every carrier, and the virtual thread that
    // answers archive_command would wait for one (the 500 ms p99 of bench/README.md).
    int busy = Runtime.getRuntime().availableProcessors() + 1;
    List<CompletableFuture<Boolean>> attempts = new ArrayList<>();
    try (Retry r = new Retry(Duration.ofSeconds(30))) {
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
      Thread.sleep(200); // the calls are spinning
      long t0 = System.nanoTime();
      Thread.ofVirtual().start(() -> { }).join();
      long waitedMs = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(waitedMs < 700, "a virtual thread waited " + waitedMs + " ms for a carrier");
      for (var a : attempts) {
        assertEquals(false, a.get(), "calls run on platform threads");
      }
    }
  }
}
