package io.pgsidecar.core.codec;

import static io.pgsidecar.core.codec.PgpTestKeys.encryption;
import static io.pgsidecar.core.codec.PgpTestKeys.none;
import static io.pgsidecar.core.codec.PgpTestKeys.zstd;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What we write, the gpg CLI reads; what gpg writes, we read. */
class GpgInteropTest {

  private static final byte[] DATA = CodecTestData.sample(2 << 20, 11);
  private static final String KEY = "main/dumps/20261122T021500Z/app.dump.pgp";
  private final PgpTestKeys keys = PgpTestKeys.get();

  @TempDir Path dir;

  private Path ourEncryption(CodecPipeline pipeline) throws Exception {
    return ourEncryption(pipeline, DATA, "ours.pgp");
  }

  private Path ourEncryption(CodecPipeline pipeline, byte[] data, String name) throws Exception {
    Path file = dir.resolve(name);
    try (OutputStream out = pipeline.encode(Files.newOutputStream(file))) {
      out.write(data);
    }
    return file;
  }

  private byte[] ourDecryption(CodecPipeline pipeline, Path file) throws Exception {
    try (InputStream in = pipeline.decode(Files.newInputStream(file), "pgp", KEY)) {
      return in.readAllBytes();
    }
  }

  @Test
  void gpgDecryptsWhatWeEncryptToItsKey() throws Exception {
    Path ours = ourEncryption(Pipelines.forConfig(none(), encryption(
        List.of(keys.bobPublic), null, List.of(), null)));
    Path plain = dir.resolve("plain");
    keys.gpg.decrypt(ours, plain, PgpTestKeys.BOB_KEY_PASSPHRASE);
    assertArrayEquals(DATA, Files.readAllBytes(plain));
  }

  @Test
  void gpgDecryptsWhatWeEncryptWithAPassphrase() throws Exception {
    Path ours = ourEncryption(Pipelines.forConfig(none(), keys.passphrase()));
    Path plain = dir.resolve("plain");
    keys.gpg.decrypt(ours, plain, PgpTestKeys.PASSPHRASE);
    assertArrayEquals(DATA, Files.readAllBytes(plain));
  }

  @Test
  void weReadWhatGpgEncryptsToOurKeys() throws Exception {
    Path plain = Files.write(dir.resolve("plain"), DATA);
    Path theirs = dir.resolve("theirs.gpg");
    keys.gpg.encrypt(plain, theirs, keys.alice, keys.bob); // gpg compresses by default
    assertArrayEquals(DATA, ourDecryption(Pipelines.forConfig(zstd(), keys.alice()), theirs));
    assertArrayEquals(DATA, ourDecryption(Pipelines.forConfig(zstd(), keys.bob()), theirs));
  }

  @Test
  void weReadWhatGpgEncryptsSymmetricallyWithAes256() throws Exception {
    Path plain = Files.write(dir.resolve("plain"), DATA);
    Path theirs = dir.resolve("theirs.gpg");
    keys.gpg.encryptSymmetric(plain, theirs, PgpTestKeys.PASSPHRASE);
    assertArrayEquals(DATA, ourDecryption(Pipelines.forConfig(zstd(), keys.passphrase()),
        theirs));
  }

  /**
   * Our decryption (AES/CFB through AES/ECB, our own S2K key derivation) on every AES key size
   * and S2K hash gpg offers, lengths that end mid-block, uncompressed and compressed.
   */
  @Test
  void weReadWhatGpgEncryptsSymmetricallyWithEveryAesKeySizeAndS2kHash() throws Exception {
    int[] lengths = {0, 1, 17, 65_537, DATA.length - 5};
    String[][] variants = {{"AES", "SHA1", "none"}, {"AES192", "SHA256", "zlib"},
        {"AES256", "SHA512", "none"}, {"AES256", "SHA1", "zip"}, {"AES", "SHA384", "none"}};
    for (int i = 0; i < variants.length; i++) {
      String[] v = variants[i];
      byte[] data = java.util.Arrays.copyOf(DATA, lengths[i]);
      Path plain = Files.write(dir.resolve("plain" + i), data);
      Path theirs = dir.resolve("theirs" + i + ".gpg");
      keys.gpg.run(List.of("--pinentry-mode", "loopback", "--passphrase", PgpTestKeys.PASSPHRASE,
          "--s2k-digest-algo", v[1], "--s2k-count", "65011712", "--cipher-algo", v[0],
          "--compress-algo", v[2], "--output", theirs.toString(), "--symmetric",
          plain.toString()));
      assertArrayEquals(data, ourDecryption(Pipelines.forConfig(none(), keys.passphrase()),
          theirs), String.join("/", v) + ", " + data.length + " bytes");
    }
  }

  /** Past the first MiBs our MDC check hashes on another thread. */
  @Test
  void weReadLargeObjectsGpgEncryptsToOurKeysAndWithAPassphrase() throws Exception {
    byte[] large = CodecTestData.sample((int) BackgroundDigest.INLINE_BYTES + (5 << 20), 12);
    Path plain = Files.write(dir.resolve("plain"), large);
    Path toKey = dir.resolve("to-key.gpg");
    keys.gpg.run(List.of("--trust-model", "always", "--compress-algo", "none", "--output",
        toKey.toString(), "--recipient", keys.alice.fingerprint(), "--encrypt",
        plain.toString()));
    Path symmetric = dir.resolve("symmetric.gpg");
    keys.gpg.run(List.of("--pinentry-mode", "loopback", "--passphrase", PgpTestKeys.PASSPHRASE,
        "--cipher-algo", "AES256", "--compress-algo", "none", "--output", symmetric.toString(),
        "--symmetric", plain.toString()));
    assertArrayEquals(large, ourDecryption(Pipelines.forConfig(none(), keys.alice()), toKey));
    assertArrayEquals(large, ourDecryption(Pipelines.forConfig(none(), keys.passphrase()),
        symmetric));
  }

  /** Past the first MiBs our MDC is hashed on another thread while this one encrypts. */
  @Test
  void gpgReadsLargeObjectsWeEncryptToItsKeyAndWithAPassphrase() throws Exception {
    byte[] large = CodecTestData.sample((int) BackgroundDigest.INLINE_BYTES + (5 << 20), 13);
    Path toKey = ourEncryption(Pipelines.forConfig(none(), encryption(
        List.of(keys.bobPublic), null, List.of(), null)), large, "to-key.pgp");
    Path symmetric = ourEncryption(Pipelines.forConfig(none(), keys.passphrase()), large,
        "symmetric.pgp");
    keys.gpg.decrypt(toKey, dir.resolve("from-key"), PgpTestKeys.BOB_KEY_PASSPHRASE);
    keys.gpg.decrypt(symmetric, dir.resolve("from-passphrase"), PgpTestKeys.PASSPHRASE);
    assertArrayEquals(large, Files.readAllBytes(dir.resolve("from-key")));
    assertArrayEquals(large, Files.readAllBytes(dir.resolve("from-passphrase")));
  }

  @Test
  void weReadArmoredGpgOutput() throws Exception {
    Path plain = Files.write(dir.resolve("plain"), DATA);
    Path theirs = dir.resolve("theirs.asc");
    keys.gpg.run(List.of("--trust-model", "always", "--armor", "--output", theirs.toString(),
        "--recipient", keys.alice.fingerprint(), "--encrypt", plain.toString()));
    assertArrayEquals(DATA, ourDecryption(Pipelines.forConfig(none(), keys.alice()), theirs));
  }
}
