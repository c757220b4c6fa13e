package io.pgsidecar.agent.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Agent;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.ForwardingStorage;
import io.pgsidecar.agent.support.GatedStorage;
import io.pgsidecar.agent.support.RawHttp;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.UnixHttp;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.Storage;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read timeout on the real sockets, set to 1 s here (30 s by default): a client that does
 * not finish sending its request is cut off within the bound, a slow but moving one is served,
 * and a request the agent is working on (a push waiting for slow storage, a slow WAL stream) is
 * never cut, however long it takes.
 */
class ReadTimeoutTest {

  static final String SEG1 = "000000010000000000000001";
  static final Duration TIMEOUT = Duration.ofSeconds(1);
  /** The timeout, one check interval (100 ms here) and slack for a busy machine. */
  static final long BOUND_MS = 2500;

  @TempDir Path work;
  FakePgdata pg;
  PgsidecarConfig config;
  Agent agent;

  Agent start(Storage storage) throws IOException {
    pg = new FakePgdata(work.resolve("pgdata"), 9);
    config = TestConfig.of(pg.root(), work);
    agent = new Agent(config, storage, new XorPipeline()).readTimeout(TIMEOUT);
    agent.start();
    return agent;
  }

  @AfterEach
  void stop() {
    if (agent != null) {
      agent.close();
    }
  }

  static void assertCutWithinTheBound(RawHttp.Exchange x) {
    assertTrue(x.closedByAgent(), "still open after " + x.millis() + " ms: " + x.text());
    assertTrue(x.millis() >= TIMEOUT.toMillis() - 50 && x.millis() <= BOUND_MS,
        "closed after " + x.millis() + " ms");
  }

  @Test
  void halfAHeaderIsClosedWithinTheBoundOnBothSockets() throws Exception {
    start(new MemoryStorage());
    for (Path socket : List.of(config.socket(), config.adminSocket())) {
      RawHttp.Exchange x = RawHttp.send(socket, "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Half: ",
          Duration.ofSeconds(10));
      assertCutWithinTheBound(x);
      assertEquals(0, x.raw().length, x.text());
    }
  }

  @Test
  void aHeaderTrickledByteByByteIsClosedAtTheSameBound() throws Exception {
    start(new MemoryStorage());
    List<byte[]> bytes = new ArrayList<>();
    for (byte b : "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slowloris: 0123456789".getBytes(
        StandardCharsets.US_ASCII)) {
      bytes.add(new byte[] {b});
    }
    // a byte every 100 ms keeps the connection busy for 5 s: the head's deadline is absolute
    RawHttp.Exchange x = RawHttp.exchange(config.socket(), bytes, Duration.ofMillis(100),
        Duration.ofSeconds(5));
    assertCutWithinTheBound(x);
  }

  @Test
  void anIdleKeptAliveConnectionIsClosedAfterItsAnswer() throws Exception {
    start(new MemoryStorage());
    RawHttp.Exchange x = RawHttp.send(config.adminSocket(), "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
        Duration.ofSeconds(10));
    assertEquals(200, x.status(), x.text());
    assertCutWithinTheBound(x);
  }

  @Test
  void aBodyThatStopsArrivingGets408AndTheConnectionIsClosed() throws Exception {
    start(new MemoryStorage());
    for (Path socket : List.of(config.socket(), config.adminSocket())) {
      RawHttp.Exchange x = RawHttp.send(socket, "POST /v1/wal/push HTTP/1.1\r\nHost: a\r\n"
          + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"path\":", Duration.ofSeconds(10));
      assertCutWithinTheBound(x);
      RawHttp.Response r = x.first();
      assertEquals(408, r.status());
      assertEquals("close", r.headers().get("connection"));
      assertEquals("{\"error\":\"the body of POST /v1/wal/push stopped arriving: 8 bytes"
          + " received, none for 1 s; the agent closes the connection. Send the whole body the"
          + " Content-Length announces\"}\n", r.text());
    }
  }

  @Test
  void aSlowButMovingBodyIsServed() throws Exception {
    MemoryStorage storage = new MemoryStorage();
    start(storage);
    byte[] wal = pg.readyWal(SEG1, 4096, 1);
    String body = "{\"path\":\"pg_wal/" + SEG1 + "\"}";
    List<byte[]> parts = new ArrayList<>();
    parts.add(("POST /v1/wal/push HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Type:"
        + " application/json\r\nContent-Length: " + body.length() + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    for (byte b : body.getBytes(StandardCharsets.US_ASCII)) {
      parts.add(new byte[] {b});
    }
    // 41 bytes, one every 120 ms: about 5 s in all, five times the timeout
    RawHttp.Exchange x = RawHttp.exchange(config.socket(), parts, Duration.ofMillis(120),
        Duration.ofSeconds(10));
    assertEquals(200, x.status(), x.text());
    assertTrue(x.millis() > 4000, x.millis() + " ms");
    assertArrayEquals(wal, UnixHttp.get(config.socket(), "/v1/wal/" + SEG1).body());
  }

  @Test
  void aPushWaitingLongerThanTheTimeoutForStorageIsNotCut() throws Exception {
    GatedStorage storage = new GatedStorage();
    start(storage);
    pg.readyWal(SEG1, 4096, 2);
    CompletableFuture<UnixHttp.Response> push = CompletableFuture.supplyAsync(() -> {
      try {
        return UnixHttp.post(config.socket(), "/v1/wal/push", "{\"path\":\"pg_wal/" + SEG1 + "\"}");
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    assertTrue(storage.entered.await(10, TimeUnit.SECONDS));
    Thread.sleep(TIMEOUT.toMillis() * 3); // the client waits silently for its answer
    storage.gate.countDown();
    UnixHttp.Response r = push.get(10, TimeUnit.SECONDS);
    assertEquals(200, r.status(), r.text());
  }

  @Test
  void aWalStreamSlowerThanTheTimeoutIsNotCut() throws Exception {
    SlowReads storage = new SlowReads();
    start(storage);
    byte[] wal = pg.readyWal(SEG1, 48 * 1024, 3);
    assertEquals(200, UnixHttp.post(config.socket(), "/v1/wal/push",
        "{\"path\":\"pg_wal/" + SEG1 + "\"}").status());
    storage.slow = true;
    long t0 = System.nanoTime();
    UnixHttp.Response r = UnixHttp.get(config.socket(), "/v1/wal/" + SEG1);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(200, r.status(), r.text());
    assertArrayEquals(wal, r.body());
    assertTrue(ms > 3 * TIMEOUT.toMillis(), "the stream took only " + ms + " ms");
  }

  /** Storage whose downloads, once {@code slow}, start after 1.5 s and give 4 KiB per 250 ms. */
  static final class SlowReads extends ForwardingStorage {
    volatile boolean slow;

    SlowReads() {
      super(new MemoryStorage());
    }

    @Override
    public Optional<InputStream> open(String key) throws IOException {
      Optional<InputStream> in = delegate.open(key);
      if (!slow || in.isEmpty()) {
        return in;
      }
      pause(1500);
      return Optional.of(new FilterInputStream(in.get()) {
        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          pause(250);
          return super.read(b, off, Math.min(len, 4096));
        }
      });
    }

    private static void pause(long ms) throws IOException {
      try {
        Thread.sleep(ms);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
    }
  }
}
