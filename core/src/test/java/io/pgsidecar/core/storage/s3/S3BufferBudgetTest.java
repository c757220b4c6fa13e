package io.pgsidecar.core.storage.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.S3Auth;
import io.pgsidecar.core.config.PgsidecarConfig.S3Encryption;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.testkit.S3Server;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The S3 driver's one buffer budget ({@code concurrency + 1} part buffers for all uploads, as
 * many ranges for all reads), with {@code concurrency} 1 so that six objects at once contend for
 * two buffers: every create completes with its content, streams read in turns get theirs
 * (those without a range of the budget read lean ranges), and when everything is done or has
 * failed, the whole budget is free again: a permit lost on some path would stall every later
 * upload of the agent.
 */
class S3BufferBudgetTest {

  static final int PART = 5 << 20;
  static final int OBJECTS = 6;
  static S3Server server;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    server = S3Server.s3Mock();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  private S3Storage open(String bucket) throws Exception {
    Path id = S3Server.writeSecret(dir.resolve("id"), S3Server.ACCESS_KEY);
    Path secret = S3Server.writeSecret(dir.resolve("secret"), S3Server.SECRET_KEY);
    var cfg = new PgsidecarConfig.S3(bucket, Optional.of(server.endpoint()),
        Optional.of(S3Server.REGION), true, S3Auth.STATIC, Optional.of(id), Optional.of(secret),
        S3Encryption.NONE, Optional.empty(), Optional.empty(), PART, 1);
    return S3Storage.open(cfg, "", Duration.ofSeconds(30), RetryPolicy.defaults());
  }

  private static ObjectMetadata meta(int size) {
    return new ObjectMetadata("00", size, "none", "", Map.of());
  }

  @Test
  void theBudgetIsConcurrencyPlusOneWithinThirtyPercentOfTheHeapAndNeverBelowTwo() {
    int mib8 = 8 << 20;
    assertEquals(3, S3Storage.budget(mib8, 4, 80L << 20), "bin/pgsidecar's -Xmx80m");
    assertEquals(5, S3Storage.budget(mib8, 4, 256L << 20));
    assertEquals(2, S3Storage.budget(mib8, 4, 32L << 20));
    assertEquals(2, S3Storage.budget(PART, 1, 1L << 30), "concurrency 1: one filling, one sent");
    assertEquals(65, S3Storage.budget(PART, 64, Long.MAX_VALUE));
  }

  @Test
  void sixObjectsShareTwoBuffersWriteAndReadIntactAndGiveEveryBufferBack() throws Exception {
    long seed = Long.getLong("pgsidecar.fuzz.seed", 17L);
    System.out.println("S3BufferBudgetTest seed " + seed);
    Random random = new Random(seed);
    try (S3Storage s3 = open(server.createBucket("budget"))) {
      assertArrayEquals(new int[] {2, 2}, s3.freeBuffers());
      List<byte[]> contents = new ArrayList<>();
      for (int i = 0; i < OBJECTS; i++) {
        byte[] b = new byte[3 * PART + random.nextInt(PART)]; // 4 parts each
        random.nextBytes(b);
        contents.add(b);
      }
      ExecutorService pool = Executors.newFixedThreadPool(OBJECTS);
      try {
        List<Future<?>> creates = new ArrayList<>();
        for (int i = 0; i < OBJECTS; i++) {
          int n = i;
          creates.add(pool.submit(() -> s3.create("o/" + n, new ByteArrayInputStream(
              contents.get(n)), () -> meta(contents.get(n).length))));
        }
        for (Future<?> f : creates) {
          f.get(5, TimeUnit.MINUTES);
        }
      } finally {
        pool.shutdownNow();
      }
      assertArrayEquals(new int[] {2, 2}, s3.freeBuffers(), "after the creates");

      // all streams open at once, read 64 KiB each in turn: most find the budget spent
      List<InputStream> streams = new ArrayList<>();
      List<java.io.ByteArrayOutputStream> read = new ArrayList<>();
      for (int i = 0; i < OBJECTS; i++) {
        streams.add(s3.open("o/" + i).orElseThrow());
        read.add(new java.io.ByteArrayOutputStream());
      }
      byte[] buf = new byte[64 << 10];
      for (boolean any = true; any; ) {
        any = false;
        for (int i = 0; i < OBJECTS; i++) {
          int n = streams.get(i).read(buf);
          if (n > 0) {
            read.get(i).write(buf, 0, n);
            any = true;
          }
        }
      }
      for (int i = 0; i < OBJECTS; i++) {
        streams.get(i).close();
        assertArrayEquals(contents.get(i), read.get(i).toByteArray(), "object " + i);
      }
      assertArrayEquals(new int[] {2, 2}, s3.freeBuffers(), "after the reads");

      // a stream closed half-way and a create whose content fails half-way give theirs back
      try (InputStream half = s3.open("o/0").orElseThrow()) {
        assertEquals(PART, half.readNBytes(PART).length);
      }
      InputStream failing = new SequenceInputStream(new ByteArrayInputStream(contents.get(1)),
          new InputStream() {
            @Override
            public int read() throws IOException {
              throw new IOException("the source broke");
            }
          });
      var e = assertThrows(IOException.class,
          () -> s3.create("o/failed", failing, () -> meta(0)));
      assertTrue(e.getMessage().contains("the source broke"), e.getMessage());
      assertTrue(s3.open("o/failed").isEmpty(), "nothing stored under o/failed");
      assertArrayEquals(new int[] {2, 2}, s3.freeBuffers(), "after a broken source");
    }
  }
}
