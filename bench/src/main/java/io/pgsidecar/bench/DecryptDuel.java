package io.pgsidecar.bench;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * OpenPGP decryption, ours against {@code gpg --decrypt}, each reading what the other wrote (see
 * {@link Duel}); interleaved rounds, medians of wall and CPU MB/s of plain output.
 */
final class DecryptDuel {

  private static final String PASSPHRASE = "bench passphrase";
  private static final int WARM_UP = 2;

  private DecryptDuel() {}

  static void run(String[] args, int rounds, Path input, long bytes) throws Exception {
    boolean withPassphrase = args[1].equals("passphrase");
    Path dir = Files.createTempDirectory(input.toAbsolutePath().getParent(), "decrypt-duel");
    Path passphraseFile = Files.writeString(dir.resolve("pass"), PASSPHRASE + "\n");
    PgsidecarConfig.Encryption encryption = withPassphrase
        ? new PgsidecarConfig.Encryption(List.of(), Optional.of(passphraseFile), List.of(),
            Optional.empty())
        : new PgsidecarConfig.Encryption(List.of(Path.of(args[4])), Optional.empty(),
            List.of(Path.of(args[5])), Optional.empty());
    CodecPipeline ours = Pipelines.forConfig(new PgsidecarConfig.Compression("none", 0, 0),
        encryption);
    try {
      Path oursFile = dir.resolve("ours.pgp");
      try (InputStream in = Files.newInputStream(input);
          OutputStream out = ours.encode(Files.newOutputStream(oursFile))) {
        in.transferTo(out);
      }
      Path theirsFile = dir.resolve("theirs.gpg");
      List<String> encrypt = new ArrayList<>(gpg());
      encrypt.addAll(List.of("--cipher-algo", "AES256", "--compress-algo", "none", "-o",
          theirsFile.toString()));
      encrypt.addAll(withPassphrase ? List.of("--symmetric")
          : List.of("--trust-model", "always", "-r", args[1], "--encrypt"));
      encrypt.add(input.toString());
      Duel.runCli(encrypt);

      String expected = sha256(Files.newInputStream(input));
      String oursOfTheirs = sha256(ours.decode(Files.newInputStream(theirsFile), "pgp", "bench"));
      Path plain = dir.resolve("plain");
      List<String> check = new ArrayList<>(gpg());
      check.addAll(List.of("-o", plain.toString(), "--decrypt", oursFile.toString()));
      Duel.runCli(check);
      String theirsOfOurs = sha256(Files.newInputStream(plain));
      Files.delete(plain);
      if (!expected.equals(oursOfTheirs) || !expected.equals(theirsOfOurs)) {
        throw new IOException("decryption differs: input " + expected + ", ours of gpg's "
            + oursOfTheirs + ", gpg of ours " + theirsOfOurs);
      }

      List<String> cli = new ArrayList<>(gpg());
      cli.addAll(List.of("-o", "/dev/null", "--decrypt", oursFile.toString()));
      var wall = new Duel.Series();
      var cpu = new Duel.Series();
      for (int round = 0; round < WARM_UP + rounds; round++) {
        double[] cliTimes;
        double[] ourTimes;
        if (round % 2 == 0) {
          cliTimes = Duel.runCli(cli);
          ourTimes = decrypt(ours, theirsFile);
        } else {
          ourTimes = decrypt(ours, theirsFile);
          cliTimes = Duel.runCli(cli);
        }
        if (round >= WARM_UP) {
          wall.add(bytes / 1e6 / cliTimes[0], bytes / 1e6 / ourTimes[0]);
          cpu.add(bytes / 1e6 / cliTimes[1], bytes / 1e6 / ourTimes[1]);
        }
      }
      System.out.printf("pgp-decrypt %s bytes=%d rounds=%d sha256=equal wall: %s cpu: %s%n",
          withPassphrase ? "passphrase" : "public-key", bytes, rounds, wall, cpu);
    } finally {
      try (var files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.delete(f);
        }
      }
      Files.delete(dir);
    }
  }

  private static List<String> gpg() {
    return List.of("gpg", "--batch", "--yes", "--quiet", "--pinentry-mode", "loopback",
        "--passphrase", PASSPHRASE);
  }

  /** {wall seconds, CPU seconds} of our decoder reading {@code file} to its end. */
  private static double[] decrypt(CodecPipeline pipeline, Path file) throws IOException {
    var os = (com.sun.management.OperatingSystemMXBean)
        ManagementFactory.getOperatingSystemMXBean();
    long cpuBefore = os.getProcessCpuTime();
    long start = System.nanoTime();
    byte[] buffer = new byte[BenchFiles.BUFFER];
    try (InputStream in = pipeline.decode(Files.newInputStream(file), "pgp", file.toString())) {
      while (in.read(buffer) != -1) {
        // discard, like gpg -o /dev/null
      }
    }
    double wall = (System.nanoTime() - start) / 1e9;
    return new double[] {wall, (os.getProcessCpuTime() - cpuBefore) / 1e9};
  }

  private static String sha256(InputStream in) throws IOException {
    try (in) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[BenchFiles.BUFFER];
      for (int n; (n = in.read(buffer)) != -1; ) {
        md.update(buffer, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
