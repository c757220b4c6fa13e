package io.pgsidecar.core.restore;

import io.pgsidecar.core.io.BoundedPipe;
import io.pgsidecar.core.io.DigestingInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Unpacks one stored backup on two or three threads, so that two cores stay busy. A platform
 * thread reads the stored object, hashes it and decodes it (OpenPGP, zstd) into a
 * {@link BoundedPipe} to the calling thread, which unpacks the tar into the data directory; when
 * the plain tar's SHA-256 is wanted, into a second pipe too, to another platform thread that
 * computes it. Measured on a pgbench -s 100 backup (1.6 GB of tar): on one thread the halves
 * took turns (3.6 s unpacking while the other core idled); with decoding and both digests on
 * one thread, that thread was the bottleneck, spending more time in SHA-256 than in zstd.
 * Platform, not virtual, threads: they are busy on the CPU and would pin carriers.
 *
 * <p>The first failure, on any side, is the one reported (a damaged object, a wrong key, a file
 * that cannot be written), with its own message; the others then fail on the pipes and stop.
 * When {@link #run} returns or throws, both threads have ended and the stored stream is closed.
 */
final class PipelinedUnpack {

  /** 4 chunks of 1 MiB per pipe: enough to smooth the sides' pace, constant memory. */
  static final int CHUNK = 1 << 20;
  static final int CHUNKS = 4;
  /** The prefix of the threads' names (tests look for leftover threads by it). */
  static final String THREAD_PREFIX = "restore-decode-";

  /** Undoes the stored object's codecs: {@code CodecPipeline.decode} with its key and codec. */
  @FunctionalInterface
  interface Decoder {
    InputStream decode(InputStream stored) throws IOException;
  }

  /**
   * What was unpacked, with the SHA-256 (hex) of the stored and of the plain bytes ({@code null}
   * when not asked for).
   */
  record Result(TarExtractor.Result unpacked, String storedSha256, String plainSha256) {}

  private PipelinedUnpack() {}

  /**
   * @param stored the stored object, closed by this method
   * @param name names the threads, e.g. the backup id
   * @param plainSha256 whether to compute the plain tar's SHA-256
   */
  static Result run(InputStream stored, Decoder decoder, TarExtractor extractor, String name,
      boolean plainSha256) throws IOException {
    var tar = new BoundedPipe(CHUNK, CHUNKS);
    var toDigest = plainSha256 ? new BoundedPipe(CHUNK, CHUNKS) : null;
    var first = new AtomicReference<Throwable>();
    var sha256 = new String[2]; // stored, plain: written before the threads end, read after join
    Thread decoding = Thread.ofPlatform().name(THREAD_PREFIX + name).daemon(true).unstarted(
        () -> decode(stored, decoder, tar, toDigest, first, sha256));
    Thread digesting = toDigest == null ? null
        : Thread.ofPlatform().name(THREAD_PREFIX + name + "-sha256").daemon(true)
            .unstarted(() -> digest(toDigest, tar, first, sha256));
    try {
      if (digesting != null) {
        digesting.start();
      }
      decoding.start();
    } catch (Throwable t) {
      if (digesting != null && digesting.isAlive()) {
        toDigest.failWriter(t);
        join(digesting, toDigest, first);
      }
      stored.close();
      throw t;
    }
    TarExtractor.Result unpacked = null;
    InputStream plain = tar.source();
    try {
      unpacked = extractor.extract(plain);
      // To the end: the zero blocks after the end-of-archive marker are part of the checksummed
      // stream, and the decoder cannot finish while they wait in the pipe.
      plain.transferTo(OutputStream.nullOutputStream());
    } catch (Throwable t) {
      fail(first, t);
      tar.failReader(t);
    } finally {
      join(decoding, tar, first);
      if (digesting != null) {
        join(digesting, toDigest, first);
      }
    }
    rethrow(first.get());
    return new Result(unpacked, sha256[0], sha256[1]);
  }

  /** The decoding thread: the stored stream, hashed and decoded, to the pipes. */
  private static void decode(InputStream raw, Decoder decoder, BoundedPipe tar, BoundedPipe toDigest,
      AtomicReference<Throwable> first, String[] sha256) {
    try (raw; var stored = new DigestingInputStream(raw); var plain = decoder.decode(stored)) {
      OutputStream tarSink = tar.sink();
      OutputStream digestSink = toDigest == null ? null : toDigest.sink();
      byte[] buf = new byte[128 * 1024];
      int n;
      while ((n = plain.read(buf, 0, buf.length)) >= 0) {
        tarSink.write(buf, 0, n);
        if (digestSink != null) {
          digestSink.write(buf, 0, n);
        }
      }
      stored.transferTo(OutputStream.nullOutputStream());
      sha256[0] = stored.sha256Hex();
      // Only now the ends of the streams: a sink closed on the way out of a failure would hand
      // the readers a clean end, and they would report a truncated tar instead of the real cause.
      if (digestSink != null) {
        digestSink.close();
      }
      tarSink.close();
    } catch (Throwable t) {
      fail(first, t);
      tar.failWriter(t);
      if (toDigest != null) {
        toDigest.failWriter(t);
      }
    }
  }

  /** The digesting thread: SHA-256 of the plain tar, as the decoding thread hands it over. */
  private static void digest(BoundedPipe toDigest, BoundedPipe tar, AtomicReference<Throwable> first,
      String[] sha256) {
    try (var plain = new DigestingInputStream(toDigest.source())) {
      byte[] buf = new byte[CHUNK];
      while (plain.read(buf, 0, buf.length) >= 0) {
        // the digest is the point
      }
      sha256[1] = plain.sha256Hex();
    } catch (Throwable t) {
      fail(first, t);
      toDigest.failReader(t);
      tar.failWriter(t);
    }
  }

  /** Records {@code t} unless another side failed first (then {@code t} is its echo). */
  private static void fail(AtomicReference<Throwable> first, Throwable t) {
    first.compareAndSet(null, t);
  }

  /** Waits for {@code thread}; an interrupt stops it and fails the restore. */
  private static void join(Thread thread, BoundedPipe pipe, AtomicReference<Throwable> first) {
    boolean interrupted = false;
    while (true) {
      try {
        thread.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
        var stop = new InterruptedIOException("restore interrupted while unpacking");
        fail(first, stop);
        pipe.failReader(stop);
        thread.interrupt();
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static void rethrow(Throwable t) throws IOException {
    switch (t) {
      case null -> { }
      case IOException e -> throw e;
      case RuntimeException e -> throw e;
      case Error e -> throw e;
      default -> throw new IOException(t);
    }
  }
}
