package io.pgsidecar.bench;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Ours against the reference CLI on the same files, interleaved round by round (CLI, ours, then
 * ours, CLI, ...) after warm-up rounds, so both see the same load on a shared machine. Prints,
 * for wall time and for CPU time, the median MB/s of each and the median of the per-round
 * ratios ours/CLI. On a busy machine wall time swings with the neighbours' load; CPU time (the
 * CLI's from {@code /proc/self/stat} cutime+cstime of the reaped child, ours the process CPU
 * time, which includes zstd's worker threads) measures the work per byte and is the figure to
 * trust there.
 *
 * <p>Usage: {@code Duel zstd <level> <rounds> <dir> <workers>} or {@code Duel pgp - <rounds>
 * <file>}. With workers 0, ours compresses on the calling thread and the CLI runs {@code zstd -q
 * -<level> --single-thread --no-asyncio -c <files>}; with workers n, ours sets zstd's
 * {@code nbWorkers} to n (compression on n background threads while the caller reads, exactly
 * what the CLI does by default) and the CLI runs {@code -T<n>} with its default async I/O.
 * pgp (CLI: {@code gpg --symmetric --cipher-algo
 * AES256 --compress-algo none}, with {@code GNUPGHOME} from the environment). The CLI's output
 * and ours both go nowhere; process start-up is part of the CLI's time, as it is per object.
 *
 * <p>Decryption: {@code Duel pgp-decrypt passphrase <rounds> <file>} or {@code Duel pgp-decrypt
 * <fingerprint> <rounds> <file> <public key file> <secret key file>}. Each side first encrypts
 * {@code file} once (gpg with AES-256, MDC, no compression, with the passphrase or to the key;
 * ours with its codec); each side's output is then checked (SHA-256) and decrypted by the other
 * side in the rounds: {@code gpg --decrypt -o /dev/null ours.pgp} against our decoder reading
 * gpg's file to the end (the MDC checked).
 */
public final class Duel {

  private static final int WARM_UP = 2;

  private Duel() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    int rounds = Integer.parseInt(args[2]);
    Path input = Path.of(args[3]);
    List<Path> files = Files.isDirectory(input) ? BenchFiles.list(input) : List.of(input);
    long bytes = 0;
    for (Path f : files) {
      bytes += Files.size(f);
    }
    List<String> cli = new ArrayList<>();
    CodecPipeline ours;
    Path passphraseFile = null;
    if (mode.equals("zstd")) {
      int workers = Integer.parseInt(args[4]);
      cli.addAll(List.of("zstd", "-q", "-" + args[1], "-c"));
      cli.addAll(workers == 0 ? List.of("--single-thread", "--no-asyncio")
          : List.of("-T" + workers));
      files.forEach(f -> cli.add(f.toString()));
      ours = Pipelines.forConfig(
          new PgsidecarConfig.Compression("zstd", Integer.parseInt(args[1]), workers),
          new PgsidecarConfig.Encryption(List.of(), Optional.empty(), List.of(),
              Optional.empty()));
    } else if (mode.equals("pgp-decrypt")) {
      DecryptDuel.run(args, rounds, input, bytes);
      return;
    } else {
      passphraseFile = Files.writeString(Files.createTempFile("duel", ""), "bench passphrase\n");
      cli.addAll(List.of("gpg", "--batch", "--yes", "--pinentry-mode", "loopback",
          "--passphrase", "bench passphrase", "--symmetric", "--cipher-algo", "AES256",
          "--compress-algo", "none", "-o", "/dev/null", input.toString()));
      ours = Pipelines.forConfig(new PgsidecarConfig.Compression("none", 0, 0),
          new PgsidecarConfig.Encryption(List.of(), Optional.of(passphraseFile), List.of(),
              Optional.empty()));
    }
    var wall = new Series();
    var cpu = new Series();
    for (int round = 0; round < WARM_UP + rounds; round++) {
      double[] cliTimes;
      double[] ourTimes;
      if (round % 2 == 0) {
        cliTimes = runCli(cli);
        ourTimes = runOurs(ours, files);
      } else {
        ourTimes = runOurs(ours, files);
        cliTimes = runCli(cli);
      }
      if (round >= WARM_UP) {
        wall.add(bytes / 1e6 / cliTimes[0], bytes / 1e6 / ourTimes[0]);
        cpu.add(bytes / 1e6 / cliTimes[1], bytes / 1e6 / ourTimes[1]);
      }
    }
    if (passphraseFile != null) {
      Files.delete(passphraseFile);
    }
    String name = mode.equals("zstd") ? "zstd-" + args[1] + " workers=" + args[4] : "pgp";
    System.out.printf("%s bytes=%d rounds=%d wall: %s cpu: %s%n", name, bytes, rounds, wall,
        cpu);
  }

  /** Per-round rates of both sides; prints medians and the median per-round ratio. */
  static final class Series {
    final List<Double> cli = new ArrayList<>();
    final List<Double> ours = new ArrayList<>();
    final List<Double> ratios = new ArrayList<>();

    void add(double cliRate, double ourRate) {
      cli.add(cliRate);
      ours.add(ourRate);
      ratios.add(ourRate / cliRate);
    }

    @Override
    public String toString() {
      return String.format("cli_mb_s=%.0f ours_mb_s=%.0f ratio=%.2f ratios=%s", median(cli),
          median(ours), median(ratios),
          ratios.stream().map(r -> String.format("%.2f", r)).toList());
    }
  }

  /** {wall seconds, CPU seconds} of one CLI run. */
  static double[] runCli(List<String> command) throws IOException, InterruptedException {
    double cpuBefore = childCpuSeconds();
    long start = System.nanoTime();
    Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    if (p.waitFor() != 0) {
      throw new IOException(command + " exited with " + p.exitValue());
    }
    double wall = (System.nanoTime() - start) / 1e9;
    return new double[] {wall, childCpuSeconds() - cpuBefore};
  }

  /**
   * {wall seconds, CPU seconds} of one run of ours. CPU is the whole process's (zstd workers are
   * native threads the thread MXBean cannot see), so JIT and GC threads count against us too.
   */
  static double[] runOurs(CodecPipeline pipeline, List<Path> files) throws IOException {
    var os = (com.sun.management.OperatingSystemMXBean)
        ManagementFactory.getOperatingSystemMXBean();
    long cpuBefore = os.getProcessCpuTime();
    long start = System.nanoTime();
    for (Path f : files) {
      BenchFiles.encode(pipeline, f);
    }
    double wall = (System.nanoTime() - start) / 1e9;
    return new double[] {wall, (os.getProcessCpuTime() - cpuBefore) / 1e9};
  }

  /** User + system time of this process's waited-for children (fields 16, 17 of stat). */
  private static double childCpuSeconds() throws IOException {
    String stat = Files.readString(Path.of("/proc/self/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // fields[0] is field 3 (state): cutime is field 16, cstime field 17.
    long ticks = Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
    return ticks / (double) Long.getLong("clk.tck", 100);
  }

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }
}
