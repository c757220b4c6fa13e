package io.pgsidecar.core.restore;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Starts the disk writing back what the unpack wrote while the unpack goes on: a platform thread
 * fsyncs (data only) the files {@link TarExtractor} hands it, every {@link #STRIDE} bytes of a
 * large file and each file of at least {@link #MIN_FILE} bytes once closed. Measured on a
 * pgbench -s 50 tar (1.46 GB, bench/README.md "Restore, fourth session"): without it the one
 * fsync pass after the unpack wrote nearly all of it to the disk while both cores idled.
 *
 * <p>This is only a head start, never the durability guarantee: {@link DataDirectory#sync()}
 * still fsyncs every file and directory afterwards (cheap for a file already written back). A
 * hint that finds the queue full is dropped, so the unpack never waits for the disk here. A
 * failed fsync is not: on Linux the error may be reported once and the pages then dropped as
 * clean, so it fails the restore ({@link #finish}), naming the file.
 *
 * <p>Memory: a queue of at most {@link #QUEUE} paths, whatever the backup's size.
 */
final class WriteBehind implements AutoCloseable {

  /** A file being written is handed over every this many bytes. */
  static final long STRIDE = 64L << 20;
  /** A closed file at least this large is handed over (smaller ones wait for the last pass). */
  static final long MIN_FILE = 1L << 20;
  static final int QUEUE = 64;
  private static final Path STOP = Path.of("");

  private final BlockingQueue<Path> queue = new ArrayBlockingQueue<>(QUEUE);
  private final Thread thread;
  private volatile IOException failure;

  /** @param name names the thread (after {@link PipelinedUnpack#THREAD_PREFIX}) */
  WriteBehind(String name) {
    thread = Thread.ofPlatform().name(PipelinedUnpack.THREAD_PREFIX + name + "-fsync").daemon(true)
        .start(this::run);
  }

  /** Asks for {@code file} to be written back soon; never blocks. */
  void hint(Path file) {
    if (failure == null) {
      queue.offer(file);
    }
  }

  private void run() {
    try {
      while (true) {
        Path p = queue.take();
        if (p == STOP) {
          return;
        }
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
          ch.force(false);
        } catch (NoSuchFileException gone) {
          // a failed restore is clearing the directory: nothing to write back
        } catch (IOException e) {
          failure = new IOException("cannot write " + p + " to the disk: " + DataDirectory.reason(e)
              + "; the restore is not durable (the restore marker stays, a new run starts over):"
              + " check the volume (space, errors in the kernel log)", e);
          queue.clear();
          return;
        }
      }
    } catch (InterruptedException e) {
      // close(): stop
    }
  }

  /** Waits until every hint so far is written back; throws the first failed fsync. */
  void finish() throws IOException {
    stop(false);
    if (failure != null) {
      throw failure;
    }
  }

  /** Stops without waiting for the queue (a failed restore); idempotent. */
  @Override
  public void close() {
    stop(true);
  }

  private void stop(boolean now) {
    if (!thread.isAlive()) {
      return;
    }
    if (now) {
      thread.interrupt();
    } else {
      try {
        // the thread may have ended on a failure with the queue full again: do not wait on it
        while (thread.isAlive() && !queue.offer(STOP, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
          // the queue drains as the disk writes
        }
      } catch (InterruptedException e) {
        thread.interrupt();
        Thread.currentThread().interrupt();
        failure = failure != null ? failure
            : new InterruptedIOException("restore interrupted while writing back to the disk");
      }
    }
    boolean interrupted = false;
    while (true) {
      try {
        thread.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
        thread.interrupt();
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
