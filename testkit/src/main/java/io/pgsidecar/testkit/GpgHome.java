package io.pgsidecar.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway GnuPG home for OpenPGP interop tests: generates keys with a real encryption
 * subkey ({@code --quick-gen-key ... default} makes none), exports them to files, and runs
 * {@code gpg} to encrypt and decrypt. {@link #close()} stops the gpg-agent this home started and
 * deletes the directory.
 */
public final class GpgHome implements AutoCloseable {

  /** A generated key: primary fingerprint, encryption subkey fingerprint, user ID. */
  public record Key(String fingerprint, String encryptionSubkey, String uid) {
    /** The 16-hex key ID of the encryption subkey, as OpenPGP messages name it. */
    public String encryptionKeyId() {
      return encryptionSubkey.substring(encryptionSubkey.length() - 16);
    }
  }

  private final Path home;
  private int keys;

  private GpgHome(Path home) {
    this.home = home;
  }

  /** A new empty home in a temp directory (mode 700, as gpg insists). */
  public static GpgHome create() throws IOException {
    Path dir = Files.createTempDirectory("gpghome",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    return new GpgHome(dir);
  }

  public Path dir() {
    return home;
  }

  /** RSA 3072 sign/certify primary plus an RSA 3072 encryption subkey; "" = no passphrase. */
  public Key generateKey(String passphrase) throws IOException {
    String uid = "Test " + (++keys) + " <t" + keys + "@example.invalid>";
    run(withPassphrase(passphrase, "--quick-gen-key", uid, "rsa3072", "default", "never"));
    String fpr = fingerprints(uid).get(0);
    run(withPassphrase(passphrase, "--quick-add-key", fpr, "rsa3072", "encr", "never"));
    List<String> all = fingerprints(uid);
    return new Key(fpr, all.get(all.size() - 1), uid);
  }

  /** Writes the public key, armored or binary. */
  public Path exportPublic(Key key, Path file, boolean armor) throws IOException {
    List<String> args = new ArrayList<>(List.of("--output", file.toString()));
    if (armor) {
      args.add("--armor");
    }
    args.addAll(List.of("--export", key.fingerprint()));
    run(args);
    return file;
  }

  /** Writes the secret keys (primary and subkeys), armored; gpg needs the key's passphrase. */
  public Path exportSecret(Key key, String passphrase, Path file) throws IOException {
    run(withPassphrase(passphrase, "--output", file.toString(), "--armor",
        "--export-secret-keys", key.fingerprint()));
    return file;
  }

  /** {@code gpg --encrypt} to each recipient (gpg's defaults: compression on). */
  public void encrypt(Path in, Path out, Key... recipients) throws IOException {
    List<String> args = new ArrayList<>(List.of("--trust-model", "always", "--output",
        out.toString()));
    for (Key r : recipients) {
      args.addAll(List.of("--recipient", r.fingerprint()));
    }
    args.addAll(List.of("--encrypt", in.toString()));
    run(args);
  }

  /** {@code gpg --symmetric --cipher-algo AES256}. */
  public void encryptSymmetric(Path in, Path out, String passphrase) throws IOException {
    run(withPassphrase(passphrase, "--output", out.toString(), "--symmetric", "--cipher-algo",
        "AES256", in.toString()));
  }

  /** {@code gpg --decrypt}; the passphrase unlocks the secret key or the symmetric message. */
  public void decrypt(Path in, Path out, String passphrase) throws IOException {
    run(withPassphrase(passphrase, "--output", out.toString(), "--decrypt", in.toString()));
  }

  /** Runs gpg in this home with {@code --batch --yes}; fails with gpg's stderr. */
  public String run(List<String> args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("gpg", "--homedir", home.toString(), "--batch",
        "--yes", "--no-tty"));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("GNUPGHOME", home.toString());
    Path err = Files.createTempFile(home, "stderr", ".txt");
    pb.redirectError(err.toFile());
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("gpg timed out: " + cmd);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while running " + cmd, e);
    }
    String stderr = Files.readString(err);
    Files.delete(err);
    if (p.exitValue() != 0) {
      throw new IOException("gpg exited with " + p.exitValue() + ": " + cmd + "\n" + stderr);
    }
    return out;
  }

  private static List<String> withPassphrase(String passphrase, String... args) {
    List<String> all = new ArrayList<>(List.of("--pinentry-mode", "loopback", "--passphrase",
        passphrase));
    all.addAll(List.of(args));
    return all;
  }

  /** Fingerprints of the primary key and subkeys of {@code uid}, in listing order. */
  private List<String> fingerprints(String uid) throws IOException {
    List<String> fprs = new ArrayList<>();
    for (String line : run(List.of("--with-colons", "--list-keys", uid)).split("\n")) {
      if (line.startsWith("fpr:")) {
        fprs.add(line.split(":")[9]);
      }
    }
    if (fprs.isEmpty()) {
      throw new IOException("gpg lists no key for " + uid);
    }
    return fprs;
  }

  @Override
  public void close() {
    try {
      ProcessBuilder pb = new ProcessBuilder("gpgconf", "--kill", "gpg-agent")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
      pb.environment().put("GNUPGHOME", home.toString());
      pb.start().waitFor(30, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try (Stream<Path> walk = Files.walk(home)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
