package io.pgsidecar.bench;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.testkit.WalLikeData;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Constant-memory proof: streams a generated object of {@code size} bytes through zstd+pgp into a
 * file, reads it back through the decoder, compares SHA-256, and prints the peak heap in use
 * (sampled every 2 ms, and the heap pools' own peaks). Run under a small {@code -Xmx}.
 *
 * <p>Usage: {@code MemoryRun <bytes> <dir>}. Until FsStorage is merged it writes with a plain
 * FileOutputStream in {@code dir}; the codec path, which holds the buffers, is the same.
 */
public final class MemoryRun {

  private MemoryRun() {}

  public static void main(String[] args) throws Exception {
    long size = Long.parseLong(args[0]);
    Path dir = Path.of(args[1]);
    Path pass = Files.writeString(dir.resolve("passphrase"), "memory run passphrase\n");
    CodecPipeline pipeline = Pipelines.forConfig(new PgsidecarConfig.Compression("zstd", 3, 0),
        new PgsidecarConfig.Encryption(List.of(), Optional.of(pass), List.of(), Optional.empty()));
    Path object = dir.resolve("object" + pipeline.suffix());

    AtomicLong peak = new AtomicLong();
    Thread sampler = Thread.ofPlatform().daemon().start(() -> {
      var memory = ManagementFactory.getMemoryMXBean();
      while (!Thread.currentThread().isInterrupted()) {
        peak.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
        try {
          Thread.sleep(2);
        } catch (InterruptedException e) {
          return;
        }
      }
    });

    long start = System.nanoTime();
    MessageDigest written = MessageDigest.getInstance("SHA-256");
    byte[] chunk = new byte[BenchFiles.BUFFER];
    try (InputStream data = new WalLikeData(size, 1);
        OutputStream out = pipeline.encode(Files.newOutputStream(object))) {
      for (int n; (n = data.read(chunk)) != -1; ) {
        written.update(chunk, 0, n);
        out.write(chunk, 0, n);
      }
    }
    double encodeSeconds = (System.nanoTime() - start) / 1e9;

    start = System.nanoTime();
    MessageDigest read = MessageDigest.getInstance("SHA-256");
    long total = 0;
    byte[] buffer = new byte[1 << 16];
    try (InputStream in = pipeline.decode(Files.newInputStream(object), pipeline.name(),
        object.toString())) {
      for (int n; (n = in.read(buffer)) != -1; total += n) {
        read.update(buffer, 0, n);
      }
    }
    double decodeSeconds = (System.nanoTime() - start) / 1e9;
    sampler.interrupt();
    sampler.join();

    long poolPeaks = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        poolPeaks += pool.getPeakUsage().getUsed();
      }
    }
    boolean same = MessageDigest.isEqual(written.digest(), read.digest()) && total == size;
    System.out.printf("memory.bytes=%d%n", size);
    System.out.printf("memory.stored_bytes=%d%n", Files.size(object));
    System.out.printf("memory.sha256_match=%s%n", same);
    System.out.printf("memory.encode_mb_s=%.1f%n", size / 1e6 / encodeSeconds);
    System.out.printf("memory.decode_mb_s=%.1f%n", size / 1e6 / decodeSeconds);
    System.out.printf("memory.max_heap_mib=%.1f%n",
        Runtime.getRuntime().maxMemory() / 1048576.0);
    System.out.printf("memory.peak_heap_used_sampled_mib=%.1f%n", peak.get() / 1048576.0);
    System.out.printf("memory.peak_heap_pools_sum_mib=%.1f%n", poolPeaks / 1048576.0);
    Files.delete(object);
    Files.delete(pass);
    if (!same) {
      System.exit(1);
    }
  }
}
