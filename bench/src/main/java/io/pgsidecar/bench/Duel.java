package io.pgsidecar.bench;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Ours against the reference CLI on the same files, interleaved round by round (CLI, ours, then
 * ours, CLI, ...) after warm-up rounds, so both see the same load on a shared machine. Prints
 * the median MB/s of each and the median of the per-round ratios ours/CLI (each ratio compares
 * two runs seconds apart; that is the figure to trust when the machine is busy).
 *
 * <p>Usage: {@code Duel zstd <level> <rounds> <dir>} (CLI: {@code zstd -q -<level> -T1 -c
 * <files>}) or {@code Duel pgp - <rounds> <file>} (CLI: {@code gpg --symmetric --cipher-algo
 * AES256 --compress-algo none}, with {@code GNUPGHOME} from the environment). The CLI's output
 * and ours both go nowhere; process start-up is part of the CLI's time, as it is per object.
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
      cli.addAll(List.of("zstd", "-q", "-" + args[1], "-T1", "-c"));
      files.forEach(f -> cli.add(f.toString()));
      ours = Pipelines.zstd(Integer.parseInt(args[1]));
    } else {
      passphraseFile = Files.writeString(Files.createTempFile("duel", ""), "bench passphrase\n");
      cli.addAll(List.of("gpg", "--batch", "--yes", "--pinentry-mode", "loopback",
          "--passphrase", "bench passphrase", "--symmetric", "--cipher-algo", "AES256",
          "--compress-algo", "none", "-o", "/dev/null", input.toString()));
      ours = Pipelines.forConfig(new PgsidecarConfig.Compression("none", 0, 0),
          new PgsidecarConfig.Encryption(List.of(), Optional.of(passphraseFile), List.of(),
              Optional.empty()));
    }
    List<Double> cliRates = new ArrayList<>();
    List<Double> ourRates = new ArrayList<>();
    List<Double> ratios = new ArrayList<>();
    for (int round = 0; round < WARM_UP + rounds; round++) {
      double cliRate;
      double ourRate;
      if (round % 2 == 0) {
        cliRate = bytes / 1e6 / runCli(cli);
        ourRate = bytes / 1e6 / runOurs(ours, files);
      } else {
        ourRate = bytes / 1e6 / runOurs(ours, files);
        cliRate = bytes / 1e6 / runCli(cli);
      }
      if (round >= WARM_UP) {
        cliRates.add(cliRate);
        ourRates.add(ourRate);
        ratios.add(ourRate / cliRate);
      }
    }
    if (passphraseFile != null) {
      Files.delete(passphraseFile);
    }
    String name = mode.equals("zstd") ? "zstd-" + args[1] : "pgp";
    System.out.printf("%s bytes=%d rounds=%d cli_mb_s=%.0f ours_mb_s=%.0f ratio=%.2f"
        + " ratios=%s%n", name, bytes, rounds, median(cliRates), median(ourRates),
        median(ratios), ratios.stream().map(r -> String.format("%.2f", r)).toList());
  }

  private static double runCli(List<String> command) throws IOException, InterruptedException {
    long start = System.nanoTime();
    Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    if (p.waitFor() != 0) {
      throw new IOException(command + " exited with " + p.exitValue());
    }
    return (System.nanoTime() - start) / 1e9;
  }

  private static double runOurs(CodecPipeline pipeline, List<Path> files) throws IOException {
    long start = System.nanoTime();
    for (Path f : files) {
      BenchFiles.encode(pipeline, f);
    }
    return (System.nanoTime() - start) / 1e9;
  }

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }
}
