package io.pgsidecar.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgsidecar.testkit.Waits;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BoundedPipeTest {

  @Test
  void bytesArriveInOrderThroughASmallPipe() throws Exception {
    byte[] data = new byte[5_000_003];
    new Random(7).nextBytes(data);
    var pipe = new BoundedPipe(4096, 2);
    var reader = CompletableFuture.supplyAsync(() -> {
      try {
        return pipe.source().readAllBytes();
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    try (OutputStream out = pipe.sink()) {
      for (int off = 0; off < data.length; off += 1000) {
        out.write(data, off, Math.min(1000, data.length - off));
      }
    }
    assertArrayEquals(data, reader.get());
  }

  @Test
  void recycledChunksNeverOverwriteBytesNotYetRead() throws Exception {
    // the reader takes odd-sized bites, so a chunk goes back to the writer only once read to its end
    byte[] data = new byte[3_000_017];
    new Random(11).nextBytes(data);
    var pipe = new BoundedPipe(4096, 2);
    var reader = CompletableFuture.supplyAsync(() -> {
      var got = new java.io.ByteArrayOutputStream();
      byte[] bite = new byte[777];
      try (var in = pipe.source()) {
        int n;
        while ((n = in.read(bite, 0, bite.length)) >= 0) {
          got.write(bite, 0, n);
        }
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
      return got.toByteArray();
    });
    try (OutputStream out = pipe.sink()) {
      for (int off = 0; off < data.length; off += 5000) {
        out.write(data, off, Math.min(5000, data.length - off));
      }
    }
    assertArrayEquals(data, reader.get());
  }

  @Test
  void writerFailureReachesTheReaderInsteadOfAnEndOfStream() throws Exception {
    var pipe = new BoundedPipe(4096, 2);
    pipe.sink().write(new byte[10_000]);
    pipe.failWriter(new IOException("pg_basebackup failed"));
    var e = assertThrows(IOException.class, () -> pipe.source().readAllBytes());
    assertEquals("backup stream aborted: pg_basebackup failed", e.getMessage());
  }

  @Test
  void readerFailureUnblocksAWriterOnAFullPipe() throws Exception {
    var pipe = new BoundedPipe(1024, 1);
    var failure = new CompletableFuture<Throwable>();
    Thread writer = Thread.ofPlatform().name("pipe-writer").start(() -> {
      try {
        for (int i = 0; i < 100; i++) {
          pipe.sink().write(new byte[1024]);
        }
        failure.complete(null);
      } catch (Throwable t) {
        failure.complete(t);
      }
    });
    // the writer fills the one chunk and blocks: nobody reads
    Waits.until(Duration.ofSeconds(5), Duration.ofMillis(5),
        () -> writer.getState() == Thread.State.WAITING || writer.getState() == Thread.State.TIMED_WAITING);
    assertFalse(failure.isDone(), "the writer must be blocked on the full pipe");
    pipe.failReader(new IOException("upload refused"));
    Throwable e = failure.get(5, TimeUnit.SECONDS);
    assertInstanceOf(IOException.class, e);
    assertEquals("storage stopped reading the backup stream: upload refused", e.getMessage());
  }
}
