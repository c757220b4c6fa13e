package io.pgsidecar.core.storage.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.GeneratedContent;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.FaultProxy;
import io.pgsidecar.testkit.Waits;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: the reads of one Azure storage, however many streams are open at once, hold at most
 * one shared budget of range buffers (plus a lean buffer per stream, never a read-ahead per
 * stream), and never wait on each other: a stream nobody reads does not stop another one.
 */
class ReadBudgetTest {

  static final int BLOCK = 64 * 1024;
  static final int CONCURRENCY = 3;
  /** Range buffers of the budget: one being read and {@code CONCURRENCY} in flight. */
  static final int BUFFERS = CONCURRENCY + 1;
  static final int OBJECT = 40 * BLOCK + 123;
  static Azurite azurite;
  static FaultProxy proxy;

  @BeforeAll
  static void start() throws Exception {
    azurite = Azurite.launch();
    proxy = FaultProxy.to(azurite.port());
  }

  @AfterAll
  static void stop() {
    proxy.close();
    azurite.close();
  }

  /** The configured driver through the proxy: one SDK try per request, our quick retries. */
  AzureStorage storage() throws Exception {
    String connection = "DefaultEndpointsProtocol=http;AccountName=" + Azurite.ACCOUNT
        + ";AccountKey=" + Azurite.KEY + ";BlobEndpoint=" + proxy.endpoint(Azurite.ACCOUNT) + ";";
    var azure = new PgsidecarConfig.Azure(PgsidecarConfig.AzureAuth.CONNECTION_STRING,
        Optional.of(connection), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), azurite.container(), BLOCK, CONCURRENCY, Optional.empty());
    return AzureStorage.open(new PgsidecarConfig.StorageConfig(PgsidecarConfig.StorageType.AZURE,
        "", Optional.empty(), azure, Duration.ofSeconds(10), 5, RetryPolicy.Settings.DEFAULTS.with(
            Duration.ofSeconds(20), Duration.ofMillis(10), Duration.ofMillis(50))));
  }

  static List<String> store(AzureStorage s, String prefix, int n) throws Exception {
    List<String> sums = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      var content = new GeneratedContent(100 + i, OBJECT);
      s.create(prefix + i, content, () -> new ObjectMetadata(content.sha256(), OBJECT, "", ""));
      sums.add(content.sha256());
    }
    return sums;
  }

  @Test
  void eightConcurrentDownloadsStayWithinOneSharedBudget() throws Exception {
    int streams = 8;
    try (AzureStorage s = storage()) {
      List<String> sums = store(s, "budget/obj", streams);
      ReadBuffers budget = s.readBuffers();
      // slow GETs, so that every stream is under way at once
      proxy.delay(r -> r.method().equals("GET") && r.decodedTarget().contains("/budget/obj"),
          Duration.ofMillis(5), Integer.MAX_VALUE);
      ExecutorService readers = Executors.newFixedThreadPool(streams);
      try {
        List<Future<String>> got = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
          String key = "budget/obj" + i;
          got.add(readers.submit(() -> {
            try (InputStream in = s.open(key).orElseThrow()) {
              return GeneratedContent.sha256Of(in);
            }
          }));
        }
        for (int i = 0; i < streams; i++) {
          assertEquals(sums.get(i), got.get(i).get(60, TimeUnit.SECONDS), "object " + i);
        }
      } finally {
        readers.shutdownNow();
        proxy.clear();
      }
      long bound = (long) BUFFERS * BLOCK + (long) streams * budget.leanSize();
      System.out.println("ReadBudgetTest: " + streams + " streams of " + OBJECT + " bytes: peak "
          + budget.peakHeldBytes() + " bytes of read buffers (bound " + bound + "; before issue"
          + " 14's fix: " + streams * (CONCURRENCY + 1) * BLOCK + " in ranges alone)");
      assertTrue(budget.peakHeldBytes() <= bound, "read buffers peaked at "
          + budget.peakHeldBytes() + " bytes, more than " + bound);
      assertTrue(budget.peakHeldBytes() >= BUFFERS * BLOCK, "the budget was used: "
          + budget.peakHeldBytes());
      assertEquals(0, budget.inUse(), "every range buffer is back once the streams are read");
      assertEquals(0, budget.heldBytes(), "no buffer is in use once every stream is done");
    }
  }

  @Test
  void aStreamNobodyReadsNeverStopsAnother() throws Exception {
    try (AzureStorage s = storage()) {
      List<String> sums = store(s, "idle/obj", BUFFERS + 2);
      ReadBuffers budget = s.readBuffers();
      List<InputStream> idle = new ArrayList<>();
      try {
        // these take every range buffer and then stop reading, without closing
        for (int i = 0; i <= BUFFERS; i++) {
          InputStream in = s.open("idle/obj" + i).orElseThrow();
          assertTrue(in.read() >= 0);
          idle.add(in);
        }
        assertEquals(BUFFERS, budget.inUse(), "the idle streams hold the whole budget");
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
          Future<String> last = reader.submit(() -> {
            try (InputStream in = s.open("idle/obj" + (BUFFERS + 1)).orElseThrow()) {
              return GeneratedContent.sha256Of(in);
            }
          });
          assertEquals(sums.get(BUFFERS + 1), last.get(30, TimeUnit.SECONDS),
              "a stream read through its lean buffer while the budget was taken");
        } finally {
          reader.shutdownNow();
        }
      } finally {
        for (InputStream in : idle) {
          in.close();
        }
      }
      // ranges still in flight give their buffer back when answered
      Waits.until(Duration.ofSeconds(10), Duration.ofMillis(20), () -> budget.inUse() == 0);
      assertEquals(0, budget.heldBytes(), "no lean buffer outlives its stream");
    }
  }

  @Test
  void resetRangeRequestsAreRetriedIntoFreshBuffersAndTheBudgetStaysExact() throws Exception {
    try (AzureStorage s = storage()) {
      List<String> sums = store(s, "reset/obj", 1);
      proxy.reset(r -> r.method().equals("GET") && r.decodedTarget().contains("/reset/obj0")
          && r.headers().stream().anyMatch(h -> h.contains("bytes=" + 5 * BLOCK + "-")), 2);
      try (InputStream in = s.open("reset/obj0").orElseThrow()) {
        assertEquals(sums.get(0), GeneratedContent.sha256Of(in));
        assertEquals(2, proxy.fired().size(), proxy.fired() + " of " + proxy.requests().stream()
            .filter(r -> r.method().equals("GET")).map(r -> r.headers().toString()).toList());
      } finally {
        proxy.clear();
      }
      assertEquals(0, s.readBuffers().inUse());
      assertEquals(0, s.readBuffers().heldBytes());
    }
  }
}
