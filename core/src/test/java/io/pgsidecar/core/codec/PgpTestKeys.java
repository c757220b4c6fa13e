package io.pgsidecar.core.codec;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.testkit.GpgHome;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Two real gpg keys shared by the codec tests (RSA key generation takes seconds): alice without
 * a passphrase, exported armored; bob protected by a passphrase, public key exported binary.
 * Plus passphrase files. Cleaned up when the test JVM exits.
 */
final class PgpTestKeys {

  static final String BOB_KEY_PASSPHRASE = "bob's key passphrase";
  static final String PASSPHRASE = "correct horse battery staple";

  final GpgHome gpg;
  final GpgHome.Key alice;
  final GpgHome.Key bob;
  final Path alicePublic;
  final Path aliceSecret;
  final Path bobPublic;
  final Path bobSecret;
  final Path bobKeyPassphraseFile;
  final Path passphraseFile;
  final Path otherPassphraseFile;

  private static PgpTestKeys instance;

  static synchronized PgpTestKeys get() {
    if (instance == null) {
      try {
        instance = new PgpTestKeys();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Runtime.getRuntime().addShutdownHook(new Thread(instance.gpg::close));
    }
    return instance;
  }

  private PgpTestKeys() throws IOException {
    gpg = GpgHome.create();
    Path dir = Files.createDirectories(gpg.dir().resolve("files"));
    alice = gpg.generateKey("");
    bob = gpg.generateKey(BOB_KEY_PASSPHRASE);
    alicePublic = gpg.exportPublic(alice, dir.resolve("alice.asc"), true);
    aliceSecret = gpg.exportSecret(alice, "", dir.resolve("alice-secret.asc"));
    bobPublic = gpg.exportPublic(bob, dir.resolve("bob.gpg"), false);
    bobSecret = gpg.exportSecret(bob, BOB_KEY_PASSPHRASE, dir.resolve("bob-secret.asc"));
    bobKeyPassphraseFile = Files.writeString(dir.resolve("bob-key-pass"), BOB_KEY_PASSPHRASE + "\n");
    passphraseFile = Files.writeString(dir.resolve("pass"), PASSPHRASE + "\n");
    otherPassphraseFile = Files.writeString(dir.resolve("other-pass"), "not the passphrase");
  }

  static PgsidecarConfig.Compression zstd() {
    return new PgsidecarConfig.Compression("zstd", 3, 0);
  }

  static PgsidecarConfig.Compression none() {
    return new PgsidecarConfig.Compression("none", 0, 0);
  }

  static PgsidecarConfig.Encryption encryption(List<Path> publicKeys, Path passphraseFile,
      List<Path> secretKeys, Path secretKeyPassphraseFile) {
    return new PgsidecarConfig.Encryption(publicKeys, Optional.ofNullable(passphraseFile),
        secretKeys, Optional.ofNullable(secretKeyPassphraseFile));
  }

  static PgsidecarConfig.Encryption noEncryption() {
    return encryption(List.of(), null, List.of(), null);
  }

  /** Alice's public and secret key. */
  PgsidecarConfig.Encryption alice() {
    return encryption(List.of(alicePublic), null, List.of(aliceSecret), null);
  }

  PgsidecarConfig.Encryption bob() {
    return encryption(List.of(bobPublic), null, List.of(bobSecret), bobKeyPassphraseFile);
  }

  PgsidecarConfig.Encryption passphrase() {
    return encryption(List.of(), passphraseFile, List.of(), null);
  }
}
