package io.pgsidecar.restoreinit;

import io.pgsidecar.core.io.BoundedPipe;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Unpacks one stored backup on two cores. A platform thread reads the stored object, decodes it
 * (OpenPGP, zstd) and hashes both into a {@link BoundedPipe}; the calling thread unpacks the tar
 * into the data directory. On one thread the two halves took turns: a
 * pgbench -s 100 backup (1.6 GB of tar) spent 3.6 s unpacking while the other core idled.
 * Platform, not virtual, threads: the decoding thread is busy on the CPU and would pin a carrier.
 *
 * <p>The first failure, on either side, is the one reported (a damaged object, a wrong key, a
 * file that cannot be written), with its own message; the other side then fails on the pipe and
 * stops. When {@link #run} returns or throws, the decoding thread has ended and the stored
 * stream is closed.
 */
final class PipelinedUnpack {

  /** 4 chunks of 1 MiB: enough to smooth the two sides' pace, constant memory. */
  static final int CHUNK = 1 << 20;
  static final int CHUNKS = 4;
  /** The prefix of the decoding thread's name (tests look for leftover threads by it). */
  static final String THREAD_PREFIX = "restore-decode-";

  /** Undoes the stored object's codecs: {@code CodecPipeline.decode} with its key and codec. */
  @FunctionalInterface
  interface Decoder {
    InputStream decode(InputStream stored) throws IOException;
  }

  /** What was unpacked, with the SHA-256 (hex) of the stored and of the plain bytes. */
  record Result(TarExtractor.Result unpacked, String storedSha256, String plainSha256) {}

  private PipelinedUnpack() {}

  /**
   * @param stored the stored object, closed by this method
   * @param name names the decoding thread, e.g. the backup id
   */
  static Result run(InputStream stored, Decoder decoder, TarExtractor extractor, String name)
      throws IOException {
    var pipe = new BoundedPipe(CHUNK, CHUNKS);
    var first = new AtomicReference<Throwable>();
    var sha256 = new String[2]; // stored, plain: written before the thread ends, read after join
    Thread decoding = Thread.ofPlatform().name(THREAD_PREFIX + name).daemon(true).unstarted(
        () -> decode(stored, decoder, pipe, first, sha256));
    try {
      decoding.start();
    } catch (Throwable t) {
      stored.close();
      throw t;
    }
    TarExtractor.Result unpacked = null;
    InputStream plain = pipe.source();
    try {
      unpacked = extractor.extract(plain);
      // To the end: the zero blocks after the end-of-archive marker are part of the checksummed
      // stream, and the decoder cannot finish while they wait in the pipe.
      plain.transferTo(OutputStream.nullOutputStream());
    } catch (Throwable t) {
      fail(first, t);
      pipe.failReader(t);
    } finally {
      join(decoding, pipe, first);
    }
    rethrow(first.get());
    return new Result(unpacked, sha256[0], sha256[1]);
  }

  /**
   * The decoding thread: the stored stream, decoded, to the pipe, hashing both. The plain tar is
   * hashed here and not beside the extractor because writing the files is the slower half
   * (measured: about 0.2 s decoding and 1 s unpacking for 340 MB of pgbench tables).
   */
  private static void decode(InputStream raw, Decoder decoder, BoundedPipe pipe,
      AtomicReference<Throwable> first, String[] sha256) {
    try (raw; var stored = new DigestingInputStream(raw);
        var plain = new DigestingInputStream(decoder.decode(stored))) {
      OutputStream sink = pipe.sink();
      byte[] buf = new byte[128 * 1024];
      int n;
      while ((n = plain.read(buf, 0, buf.length)) >= 0) {
        sink.write(buf, 0, n);
      }
      stored.transferTo(OutputStream.nullOutputStream());
      sha256[0] = stored.hex();
      sha256[1] = plain.hex();
      // Only now the end of stream: a sink closed on the way out of a failure would hand the
      // reader a clean end, and it would report a truncated tar instead of the real cause.
      sink.close();
    } catch (Throwable t) {
      fail(first, t);
      pipe.failWriter(t);
    }
  }

  /** Records {@code t} unless the other side failed first (then {@code t} is its echo). */
  private static void fail(AtomicReference<Throwable> first, Throwable t) {
    first.compareAndSet(null, t);
  }

  /** Waits for the decoding thread; an interrupt stops it and fails the restore. */
  private static void join(Thread decoding, BoundedPipe pipe, AtomicReference<Throwable> first) {
    boolean interrupted = false;
    while (true) {
      try {
        decoding.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
        var stop = new InterruptedIOException("restore interrupted while unpacking");
        fail(first, stop);
        pipe.failReader(stop);
        decoding.interrupt();
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
