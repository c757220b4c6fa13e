package io.pgsidecar.core.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BackgroundDigestTest {

  private static final long SEED = Long.getLong("pgsidecar.fuzz.seed", 23);
  private static final Executor REFUSED = task -> {
    throw new AssertionError("the pool must not be used");
  };

  private final ExecutorService pool = Executors.newFixedThreadPool(4);

  @AfterEach
  void stopPool() throws InterruptedException {
    pool.shutdownNow();
    assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
  }

  /**
   * SHA-1 that records the threads it runs on and can make an update wait for a permit
   * ({@link #gate}) or fail ({@link #failAt}, counted from 1).
   */
  private static final class RecordingSha1 extends MessageDigest {
    final MessageDigest sha1 = sha1();
    final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    final AtomicInteger updates = new AtomicInteger();
    volatile Semaphore gate;
    volatile int failAt;
    volatile Throwable failure = new IllegalStateException("SHA-1 unit on fire");

    RecordingSha1() {
      super("SHA-1");
    }

    @Override
    protected void engineUpdate(byte input) {
      engineUpdate(new byte[] {input}, 0, 1);
    }

    @Override
    protected void engineUpdate(byte[] input, int offset, int len) {
      threads.add(Thread.currentThread());
      int update = updates.incrementAndGet();
      if (gate != null) {
        gate.acquireUninterruptibly();
      }
      if (update == failAt) {
        if (failure instanceof Error e) {
          throw e;
        }
        throw (RuntimeException) failure;
      }
      sha1.update(input, offset, len);
    }

    @Override
    protected byte[] engineDigest() {
      return sha1.digest();
    }

    @Override
    protected void engineReset() {
      sha1.reset();
    }
  }

  private static MessageDigest sha1() {
    try {
      return MessageDigest.getInstance("SHA-1");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void awaitWaiting(Thread thread) throws InterruptedException {
    for (int i = 0; i < 1000 && thread.getState() != Thread.State.WAITING; i++) {
      Thread.sleep(5);
    }
    assertEquals(Thread.State.WAITING, thread.getState());
  }

  @Test
  void digestIsSha1OfTheBytesInOrderForAnyWritePatternChunkingAndThreshold() throws Exception {
    Random random = new Random(SEED);
    for (long inline : List.of(0L, 1000L, Long.MAX_VALUE)) {
      for (int chunkSize : List.of(1, 100, 4096)) {
        for (int chunks : List.of(1, 2, 4)) {
          var recording = new RecordingSha1();
          var digest = new BackgroundDigest(recording, pool, inline, chunkSize, chunks);
          MessageDigest expected = sha1();
          byte[] data = new byte[chunkSize == 1 ? 3_000 : 20_000 + random.nextInt(20_000)];
          random.nextBytes(data);
          for (int pos = 0; pos < data.length; ) {
            if (random.nextInt(5) == 0) {
              digest.write(data[pos]);
              pos++;
            } else {
              int n = Math.min(data.length - pos, 1 + random.nextInt(random.nextBoolean()
                  ? 50 : 9000));
              digest.write(data, pos, n);
              pos += n;
            }
          }
          expected.update(data);
          String which = "seed " + SEED + ", inline " + inline + ", chunk " + chunkSize + " x "
              + chunks;
          assertArrayEquals(expected.digest(), digest.digest(), which);
          assertTrue(digest.chunksAllocated() <= chunks, which);
          boolean onlyHere = recording.threads.equals(Set.of(Thread.currentThread()));
          assertEquals(inline == Long.MAX_VALUE, onlyHere, which + ": " + recording.threads);
        }
      }
    }
  }

  @Test
  void bytesUpToTheThresholdAreHashedOnTheWritersThreadWithoutThePool() throws Exception {
    var recording = new RecordingSha1();
    var digest = new BackgroundDigest(recording, REFUSED, 1000, 64, 2);
    byte[] data = new byte[1000];
    new Random(SEED).nextBytes(data);
    digest.write(data, 0, 999);
    digest.write(data[999]);
    assertArrayEquals(sha1().digest(data), digest.digest());
    assertEquals(Set.of(Thread.currentThread()), recording.threads);
    assertEquals(0, digest.chunksAllocated());
  }

  @Test
  void writerWaitsWhileEveryChunkIsQueuedSoMemoryStaysBounded() throws Exception {
    var recording = new RecordingSha1();
    recording.gate = new Semaphore(0);
    var digest = new BackgroundDigest(recording, pool, 0, 1024, 3);
    byte[] data = new byte[10 * 1024];
    new Random(SEED).nextBytes(data);
    var writer = new Thread(() -> {
      try {
        digest.write(data);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }, "writer");
    writer.start();
    awaitWaiting(writer); // one chunk in the blocked update, two queued, none free
    assertEquals(3, digest.chunksAllocated());
    assertTrue(writer.isAlive());
    recording.gate.release(Integer.MAX_VALUE);
    writer.join(10_000);
    assertFalse(writer.isAlive());
    assertArrayEquals(sha1().digest(data), digest.digest());
    assertEquals(3, digest.chunksAllocated());
  }

  @Test
  void failureOnTheDigestThreadFailsTheNextWriteOrTheDigestAndStays() throws Exception {
    for (Throwable failure : List.of(new IllegalStateException("SHA-1 unit on fire"),
        new OutOfMemoryError("Java heap space"))) {
      var recording = new RecordingSha1();
      recording.failAt = 2;
      recording.failure = failure;
      var digest = new BackgroundDigest(recording, pool, 0, 100, 2);
      var thrown = assertThrows(BackgroundDigest.Failure.class, () -> {
        for (int i = 0; i < 100; i++) {
          digest.write(new byte[150]);
        }
        digest.digest();
      });
      assertEquals("hashing on the digest thread failed: " + failure, thrown.getMessage());
      assertEquals(failure, thrown.getCause());
      assertThrows(BackgroundDigest.Failure.class, digest::digest);
      assertThrows(BackgroundDigest.Failure.class, () -> digest.write(1));
    }
  }

  @Test
  void failureOfTheLastChunkFailsTheDigest() throws Exception {
    var recording = new RecordingSha1();
    recording.failAt = 1;
    var digest = new BackgroundDigest(recording, pool, 0, 100, 2);
    digest.write(new byte[50]); // no full chunk: hashed only when the digest is asked for
    var thrown = assertThrows(BackgroundDigest.Failure.class, digest::digest);
    assertEquals("hashing on the digest thread failed: java.lang.IllegalStateException:"
        + " SHA-1 unit on fire", thrown.getMessage());
  }

  @Test
  void poolThatRefusesTheWorkFailsTheWrite() {
    var digest = new BackgroundDigest(sha1(), task -> {
      throw new RejectedExecutionException("digest pool is shut down");
    }, 0, 16, 2);
    var thrown = assertThrows(BackgroundDigest.Failure.class, () -> digest.write(new byte[16]));
    assertEquals("hashing on the digest thread failed:"
        + " java.util.concurrent.RejectedExecutionException: digest pool is shut down",
        thrown.getMessage());
    assertThrows(BackgroundDigest.Failure.class, digest::digest);
  }

  @Test
  void closeDropsQueuedChunksWaitsForTheOneBeingHashedAndLeavesNoWorkBehind() throws Exception {
    var own = (ThreadPoolExecutor) Executors.newFixedThreadPool(1);
    var recording = new RecordingSha1();
    recording.gate = new Semaphore(0);
    var digest = new BackgroundDigest(recording, own, 0, 100, 4);
    digest.write(new byte[300]); // three chunks: the first is being hashed, two wait
    for (int i = 0; i < 1000 && recording.updates.get() == 0; i++) {
      Thread.sleep(5);
    }
    var closed = CompletableFuture.runAsync(digest::close, pool);
    Thread.sleep(50);
    assertFalse(closed.isDone(), "close returned while a chunk was being hashed");
    recording.gate.release(Integer.MAX_VALUE);
    closed.get(10, TimeUnit.SECONDS);
    assertEquals(1, recording.updates.get(), "queued chunks were hashed after close");
    assertEquals(0, own.getActiveCount());
    own.shutdown();
    assertTrue(own.awaitTermination(10, TimeUnit.SECONDS));
    assertEquals("the digest is closed",
        assertThrows(IOException.class, () -> digest.write(new byte[300])).getMessage());
    assertThrows(IOException.class, digest::digest);
  }

  @Test
  void closeWakesAWriterWaitingForAChunk() throws Exception {
    var recording = new RecordingSha1();
    recording.gate = new Semaphore(0);
    var digest = new BackgroundDigest(recording, pool, 0, 100, 1);
    var writer = CompletableFuture.runAsync(() -> {
      try {
        digest.write(new byte[500]);
      } catch (IOException e) {
        throw new IllegalStateException(e.getMessage(), e);
      }
    }, pool);
    Thread.sleep(50);
    assertFalse(writer.isDone());
    var closed = CompletableFuture.runAsync(digest::close, pool);
    Thread.sleep(50);
    recording.gate.release(Integer.MAX_VALUE);
    closed.get(10, TimeUnit.SECONDS);
    var thrown = assertThrows(Exception.class, () -> writer.get(10, TimeUnit.SECONDS));
    assertEquals("the digest is closed", thrown.getCause().getMessage());
  }

  @Test
  void sharedPoolThreadsAreDaemonsNamedPgsidecarDigest() throws Exception {
    var recording = new RecordingSha1();
    var digest = new BackgroundDigest(recording, BackgroundDigest.sharedPool(), 0, 1024, 2);
    byte[] data = new byte[8 * 1024];
    digest.write(data);
    assertArrayEquals(sha1().digest(data), digest.digest());
    assertFalse(recording.threads.isEmpty());
    for (Thread t : recording.threads) {
      assertTrue(t.getName().matches("pgsidecar-digest-\\d+"), t.getName());
      assertTrue(t.isDaemon(), t.getName());
    }
  }
}
