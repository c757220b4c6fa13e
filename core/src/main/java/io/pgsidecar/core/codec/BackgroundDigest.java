package io.pgsidecar.core.codec;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link MessageDigest} fed as an {@link OutputStream} whose hashing runs on another thread:
 * the writer copies its bytes into one of a few fixed chunks and goes on while a pool thread
 * hashes the chunks before it, in order. Made for the SHA-1 of OpenPGP's integrity packet (MDC),
 * which costs about four times the AES decryption of the same bytes: with a free core the
 * decrypting thread no longer waits for it.
 *
 * <p>The first {@code inlineBytes} are hashed on the writer's thread, so a small object (a
 * compressed WAL segment) pays no hand-off at all. After that, memory is bounded: at most
 * {@code chunks} buffers of {@code chunkSize} bytes, and the writer waits while all of them are
 * queued. No pool thread waits on a stream: a task hashes what is queued and ends, and the next
 * full chunk starts another, so a stream that is dropped unread leaves nothing running once its
 * queued chunks are hashed (at most {@code chunks * chunkSize} bytes), or at once after
 * {@link #close()}.
 *
 * <p>A failure on the hashing thread (or a pool that refuses the task) is thrown to the writer as
 * a {@link Failure} from its next {@link #write} or from {@link #digest()}: a digest is never
 * returned unless every byte written went into it.
 */
final class BackgroundDigest extends OutputStream {

  static final int CHUNK_SIZE = 128 * 1024;
  static final int CHUNKS = 4;
  /**
   * Hashed on the writer's thread: objects up to this size never use the pool. A compressed WAL
   * segment is 1-4 MB; above this the pool's hand-off (a copy and a wake-up per chunk) is cheap
   * next to hashing the rest on another core.
   */
  static final long INLINE_BYTES = 4L << 20;

  /** The hashing thread failed or refused the work: what was written is not hashed. */
  static final class Failure extends IOException {
    Failure(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private record Chunk(byte[] bytes, int length) {}

  private final MessageDigest digest;
  private final Executor executor;
  private final long inlineBytes;
  private final int chunkSize;
  private final int maxChunks;

  // The writer's own state.
  private long inlined;
  private boolean background;
  private byte[] current;
  private int filled;

  // Shared with the hashing task, under lock.
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<Chunk> queued = new ArrayDeque<>();
  private final ArrayDeque<byte[]> free = new ArrayDeque<>();
  private int allocated;
  private boolean draining; // a hashing task is submitted or running
  private Throwable failure;
  private volatile boolean closed;

  /** Hashes into {@code digest} on the shared {@code pgsidecar-digest-N} pool. */
  BackgroundDigest(MessageDigest digest) {
    this(digest, sharedPool(), INLINE_BYTES, CHUNK_SIZE, CHUNKS);
  }

  BackgroundDigest(MessageDigest digest, Executor executor, long inlineBytes, int chunkSize,
      int maxChunks) {
    if (chunkSize < 1 || maxChunks < 1) {
      throw new IllegalArgumentException("chunkSize and maxChunks must be positive");
    }
    this.digest = digest;
    this.executor = executor;
    this.inlineBytes = inlineBytes;
    this.chunkSize = chunkSize;
    this.maxChunks = maxChunks;
  }

  @Override
  public void write(int b) throws IOException {
    checkOpen();
    if (!background && inlined < inlineBytes) {
      digest.update((byte) b);
      inlined++;
      return;
    }
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    checkOpen();
    if (!background) {
      int inline = (int) Math.min(len, Math.max(0, inlineBytes - inlined));
      if (inline > 0) {
        digest.update(b, off, inline);
        inlined += inline;
        off += inline;
        len -= inline;
      }
      if (len == 0) {
        return;
      }
      background = true;
    }
    while (len > 0) {
      if (current == null) {
        current = takeFree();
      }
      int n = Math.min(len, current.length - filled);
      System.arraycopy(b, off, current, filled, n);
      filled += n;
      off += n;
      len -= n;
      if (filled == current.length) {
        submit();
      }
    }
  }

  /**
   * Waits until every byte written is hashed and returns the digest (which resets, as
   * {@link MessageDigest#digest()} does); throws the hashing thread's failure if there was one.
   */
  byte[] digest() throws IOException {
    checkOpen();
    if (background) {
      if (filled > 0) {
        submit();
      }
      lock.lock();
      try {
        while (draining && failure == null) {
          awaitChange();
        }
        checkUsable();
      } finally {
        lock.unlock();
      }
    }
    return digest.digest();
  }

  /**
   * Drops what is not hashed yet and returns once no thread works on this digest any more (at
   * most the one chunk being hashed is finished); later writes fail.
   */
  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      changed.signalAll(); // a writer waiting for a chunk fails now
      queued.clear();
      free.clear();
      boolean interrupted = false;
      while (draining) {
        try {
          changed.await();
        } catch (InterruptedException e) {
          interrupted = true; // bounded: one chunk's update
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    } finally {
      lock.unlock();
    }
  }

  /** Buffers created so far (never more than {@code maxChunks}). */
  int chunksAllocated() {
    lock.lock();
    try {
      return allocated;
    } finally {
      lock.unlock();
    }
  }

  private byte[] takeFree() throws IOException {
    lock.lock();
    try {
      while (true) {
        checkUsable();
        if (!free.isEmpty()) {
          return free.poll();
        }
        if (allocated < maxChunks) {
          allocated++;
          return new byte[chunkSize];
        }
        awaitChange();
      }
    } finally {
      lock.unlock();
    }
  }

  private void submit() throws IOException {
    lock.lock();
    try {
      checkUsable();
      queued.add(new Chunk(current, filled));
      current = null;
      filled = 0;
      if (!draining) {
        draining = true;
        try {
          executor.execute(this::drain);
        } catch (RejectedExecutionException e) {
          draining = false;
          failure = e;
          checkUsable();
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** The hashing task: hashes the queued chunks in order, then ends. */
  private void drain() {
    while (true) {
      Chunk chunk;
      lock.lock();
      try {
        chunk = closed ? null : queued.poll();
        if (chunk == null) {
          draining = false;
          changed.signalAll();
          return;
        }
      } finally {
        lock.unlock();
      }
      Throwable failed = null;
      try {
        digest.update(chunk.bytes(), 0, chunk.length());
      } catch (Throwable t) { // an Error too: the writer must hear of it, not wait forever
        failed = t;
      }
      lock.lock();
      try {
        if (failed != null) {
          failure = failed;
          queued.clear();
          draining = false;
          changed.signalAll();
          return;
        }
        if (!closed) {
          free.add(chunk.bytes());
        }
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  private void checkUsable() throws IOException {
    if (failure != null) {
      throw new Failure("hashing on the digest thread failed: " + failure, failure);
    }
    if (closed) {
      throw new IOException("the digest is closed");
    }
  }

  private void checkOpen() throws IOException {
    if (closed) {
      throw new IOException("the digest is closed");
    }
  }

  private void awaitChange() throws InterruptedIOException {
    try {
      changed.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for the digest thread");
    }
  }

  /**
   * The process-wide pool: one daemon thread per core at most, named {@code pgsidecar-digest-N},
   * each ending after 30 s without work. Its tasks never block, so streams share it safely.
   */
  static Executor sharedPool() {
    return Pool.EXECUTOR;
  }

  private static final class Pool {
    static final ThreadPoolExecutor EXECUTOR = create();

    private static ThreadPoolExecutor create() {
      int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
      var counter = new AtomicInteger();
      var pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
          new LinkedBlockingQueue<>(), task -> {
            Thread t = new Thread(task, "pgsidecar-digest-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
          });
      pool.allowCoreThreadTimeOut(true);
      return pool;
    }
  }
}
