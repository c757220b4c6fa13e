package io.pgsidecar.bench;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Our decoder on many small objects, as a restore reads WAL: {@code count} slices of
 * {@code size} bytes of {@code file}, each encrypted by our codec (passphrase or key, no
 * compression), then decrypted one after another from memory, in {@code rounds} rounds after
 * two warm-up rounds. Prints the median over rounds of wall and process CPU time per object.
 * There is no gpg side: a gpg process per object costs milliseconds of start-up alone; this
 * compares two builds of ours (run each in turn, interleaved).
 *
 * <p>Usage: {@code SmallDecrypt passphrase <rounds> <file> <size> <count>} or
 * {@code SmallDecrypt public-key <rounds> <file> <size> <count> <public key> <secret key>}.
 */
public final class SmallDecrypt {

  private static final int WARM_UP = 2;

  private SmallDecrypt() {}

  public static void main(String[] args) throws Exception {
    boolean withPassphrase = args[0].equals("passphrase");
    int rounds = Integer.parseInt(args[1]);
    Path input = Path.of(args[2]);
    int size = Integer.parseInt(args[3]);
    int count = Integer.parseInt(args[4]);
    Path passphraseFile = Files.createTempFile("small-decrypt", "");
    try {
      Files.writeString(passphraseFile, "bench passphrase\n");
      var encryption = withPassphrase
          ? new PgsidecarConfig.Encryption(List.of(), Optional.of(passphraseFile), List.of(),
              Optional.empty())
          : new PgsidecarConfig.Encryption(List.of(Path.of(args[5])), Optional.empty(),
              List.of(Path.of(args[6])), Optional.empty());
      CodecPipeline ours = Pipelines.forConfig(new PgsidecarConfig.Compression("none", 0, 0),
          encryption);
      List<byte[]> objects = new ArrayList<>();
      try (InputStream in = Files.newInputStream(input)) {
        for (int i = 0; i < count; i++) {
          byte[] plain = in.readNBytes(size);
          if (plain.length < size) {
            throw new IOException(input + " holds fewer than " + count + " x " + size + " bytes");
          }
          var stored = new ByteArrayOutputStream();
          try (OutputStream out = ours.encode(stored)) {
            out.write(plain);
          }
          objects.add(stored.toByteArray());
        }
      }
      var os = (com.sun.management.OperatingSystemMXBean)
          ManagementFactory.getOperatingSystemMXBean();
      double[] wall = new double[rounds];
      double[] cpu = new double[rounds];
      byte[] buffer = new byte[BenchFiles.BUFFER];
      for (int round = 0; round < WARM_UP + rounds; round++) {
        long cpuBefore = os.getProcessCpuTime();
        long start = System.nanoTime();
        for (byte[] object : objects) {
          long plain = 0;
          try (InputStream in = ours.decode(new ByteArrayInputStream(object), "pgp", "bench")) {
            for (int n; (n = in.read(buffer)) != -1; ) {
              plain += n;
            }
          }
          if (plain != size) {
            throw new IOException("decoded " + plain + " bytes, not " + size);
          }
        }
        if (round >= WARM_UP) {
          wall[round - WARM_UP] = (System.nanoTime() - start) / 1e3 / count;
          cpu[round - WARM_UP] = (os.getProcessCpuTime() - cpuBefore) / 1e3 / count;
        }
      }
      System.out.printf("small-decrypt %s size=%d objects=%d rounds=%d wall_us_per_object=%.0f"
          + " cpu_us_per_object=%.0f%n", withPassphrase ? "passphrase" : "public-key", size,
          count, rounds, median(wall), median(cpu));
    } finally {
      Files.delete(passphraseFile);
    }
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
