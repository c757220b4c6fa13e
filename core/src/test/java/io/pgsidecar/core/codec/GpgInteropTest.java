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
    Path file = dir.resolve("ours.pgp");
    try (OutputStream out = pipeline.encode(Files.newOutputStream(file))) {
      out.write(DATA);
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

  @Test
  void weReadArmoredGpgOutput() throws Exception {
    Path plain = Files.write(dir.resolve("plain"), DATA);
    Path theirs = dir.resolve("theirs.asc");
    keys.gpg.run(List.of("--trust-model", "always", "--armor", "--output", theirs.toString(),
        "--recipient", keys.alice.fingerprint(), "--encrypt", plain.toString()));
    assertArrayEquals(DATA, ourDecryption(Pipelines.forConfig(none(), keys.alice()), theirs));
  }
}
