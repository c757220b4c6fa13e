package io.pgsidecar.core.codec;

import static io.pgsidecar.core.codec.CodecTestData.decode;
import static io.pgsidecar.core.codec.CodecTestData.encode;
import static io.pgsidecar.core.codec.PgpTestKeys.encryption;
import static io.pgsidecar.core.codec.PgpTestKeys.none;
import static io.pgsidecar.core.codec.PgpTestKeys.noEncryption;
import static io.pgsidecar.core.codec.PgpTestKeys.zstd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Test;

/** Every way a stored object can fail to decode raises a CodecException naming it. */
class CodecFailureTest {

  private static final byte[] DATA = CodecTestData.sample(1 << 20, 3);
  private static final String KEY = "main/base/20261122T021500Z/data.tar.zst.pgp";
  private static final String DAMAGED = "object " + KEY + " is damaged: ";
  private static final String RESTORE_ELSEWHERE =
      "; this stored copy cannot be restored: use another backup or copy of it";
  private final PgpTestKeys keys = PgpTestKeys.get();

  private static String failure(CodecPipeline reader, byte[] stored, String codec) {
    return assertThrows(CodecException.class, () -> decode(reader, stored, codec, KEY))
        .getMessage();
  }

  private static byte[] flip(byte[] stored, int at) {
    byte[] copy = stored.clone();
    copy[at] ^= 0x20;
    return copy;
  }

  @Test
  void objectForAnotherKeyNamesBothKeys() throws Exception {
    byte[] stored = encode(Pipelines.forConfig(zstd(), keys.bob()), DATA);
    String aliceIds = "[" + keys.alice.fingerprint().substring(24) + ", "
        + keys.alice.encryptionKeyId() + "]";
    assertEquals("object " + KEY + " is encrypted to key " + keys.bob.encryptionKeyId()
        + "; the configured secret keys are " + aliceIds
        + ": add the right key to encryption.secret-keys",
        failure(Pipelines.forConfig(zstd(), keys.alice()), stored, "zstd+pgp"));
  }

  @Test
  void encryptedObjectWithoutAnySecretKeySaysWhichKeyToAdd() throws Exception {
    byte[] stored = encode(Pipelines.forConfig(zstd(), keys.alice()), DATA);
    String expected = "object " + KEY + " is encrypted to key " + keys.alice.encryptionKeyId()
        + ", but encryption.secret-keys is empty: add that secret key to encryption.secret-keys";
    assertEquals(expected, failure(Pipelines.forConfig(zstd(), noEncryption()), stored,
        "zstd+pgp"));
    assertEquals(expected, failure(Pipelines.zstd(3), stored, "zstd+pgp"));
  }

  @Test
  void objectForKeyAndPassphraseMentionsBothWays() throws Exception {
    byte[] stored = encode(Pipelines.forConfig(none(), encryption(List.of(keys.alicePublic),
        keys.passphraseFile, List.of(), null)), DATA);
    assertEquals("object " + KEY + " is encrypted to key " + keys.alice.encryptionKeyId()
        + ", but encryption.secret-keys is empty: add that secret key to encryption.secret-keys"
        + " (or set encryption.passphrase-file: it is also encrypted with a passphrase)",
        failure(Pipelines.plain(), stored, "pgp"));
  }

  @Test
  void passphraseObjectWithoutPassphraseSaysSo() throws Exception {
    byte[] stored = encode(Pipelines.forConfig(none(), keys.passphrase()), DATA);
    assertEquals("object " + KEY + " is encrypted with a passphrase, but"
        + " encryption.passphrase-file is not set: set it to the passphrase the object was"
        + " written with", failure(Pipelines.forConfig(none(), keys.alice()), stored, "pgp"));
  }

  @Test
  void wrongPassphraseIsReportedAsSuch() throws Exception {
    byte[] stored = encode(Pipelines.forConfig(zstd(), keys.passphrase()), DATA);
    assertEquals("object " + KEY + " does not decrypt with the passphrase in"
        + " encryption.passphrase-file (wrong passphrase): configure the passphrase it was"
        + " written with", failure(Pipelines.forConfig(zstd(),
        encryption(List.of(), keys.otherPassphraseFile, List.of(), null)), stored, "zstd+pgp"));
  }

  @Test
  void secretKeyThatCannotBeUnlockedNamesKeyAndFile() throws Exception {
    byte[] stored = encode(Pipelines.forConfig(zstd(), keys.bob()), DATA);
    assertEquals("object " + KEY + ": cannot unlock secret key " + keys.bob.encryptionKeyId()
        + " from " + keys.bobSecret + " (wrong or missing"
        + " encryption.secret-key-passphrase-file?): configure the passphrase of that key",
        failure(Pipelines.forConfig(zstd(), encryption(List.of(), null, List.of(keys.bobSecret),
            keys.otherPassphraseFile)), stored, "zstd+pgp"));
  }

  @Test
  void flippedByteInZstdFailsTheChecksum() throws Exception {
    CodecPipeline zstd = Pipelines.zstd(3);
    byte[] stored = encode(zstd, DATA);
    assertEquals(DAMAGED + "zstd data check failed (Restored data doesn't match checksum)"
        + RESTORE_ELSEWHERE, failure(zstd, flip(stored, stored.length / 2), "zstd"));
    assertEquals(DAMAGED + "zstd data check failed (Restored data doesn't match checksum)"
        + RESTORE_ELSEWHERE, failure(zstd, flip(stored, stored.length - 2), "zstd"));
  }

  @Test
  void truncatedZstdFrameIsDetected() throws Exception {
    CodecPipeline zstd = Pipelines.zstd(3);
    byte[] stored = encode(zstd, DATA);
    for (int cut : List.of(stored.length / 2, stored.length - 1, 4)) {
      assertEquals(DAMAGED + "the zstd frame ends early after " + cut
          + " stored bytes (truncated)" + RESTORE_ELSEWHERE,
          failure(zstd, Arrays.copyOf(stored, cut), "zstd"), "cut at " + cut);
    }
    assertEquals(DAMAGED + "it is empty, not even a zstd frame header (truncated)"
        + RESTORE_ELSEWHERE, failure(zstd, new byte[0], "zstd"));
  }

  @Test
  void flippedByteInPgpFailsTheIntegrityCheck() throws Exception {
    CodecPipeline pgp = Pipelines.forConfig(none(), keys.alice());
    byte[] stored = encode(pgp, DATA);
    assertEquals(DAMAGED + "the OpenPGP integrity check (MDC) failed: it was altered or cut"
        + " short" + RESTORE_ELSEWHERE, failure(pgp, flip(stored, stored.length / 2), "pgp"));
    assertEquals(DAMAGED + "the OpenPGP integrity check (MDC) failed: it was altered or cut"
        + " short" + RESTORE_ELSEWHERE, failure(pgp, flip(stored, stored.length - 3), "pgp"));
  }

  @Test
  void truncatedPgpStreamIsDetected() throws Exception {
    CodecPipeline pgp = Pipelines.forConfig(none(), keys.passphrase());
    byte[] stored = encode(pgp, DATA);
    for (int cut : List.of(stored.length / 2, stored.length - 1, stored.length - 22)) {
      assertEquals(DAMAGED + "the OpenPGP stream ends early (truncated)" + RESTORE_ELSEWHERE,
          failure(pgp, Arrays.copyOf(stored, cut), "pgp"), "cut at " + cut);
    }
    assertEquals(DAMAGED + "it is empty, not an OpenPGP message (truncated)" + RESTORE_ELSEWHERE,
        failure(pgp, new byte[0], "pgp"));
  }

  /** Past the first MiBs the MDC's SHA-1 runs on another thread: the same failures. */
  @Test
  void flippedByteOrTruncationInALargePgpObjectIsDetected() throws Exception {
    byte[] large = CodecTestData.sample((int) BackgroundDigest.INLINE_BYTES + (3 << 20), 5);
    for (CodecPipeline pgp : List.of(Pipelines.forConfig(none(), keys.alice()),
        Pipelines.forConfig(none(), keys.passphrase()))) {
      byte[] stored = encode(pgp, large);
      assertEquals(true, Arrays.equals(large, decode(pgp, stored, "pgp", KEY)));
      // A large object's encrypted packet comes in 64 KiB partial-length chunks, each after a
      // one-byte length that is not encrypted, and where those lengths fall moves with the size
      // of the session key packet before them (an RSA-encrypted key's MPI may be a byte
      // shorter). A flip that lands on one makes the stream end early instead of failing the
      // MDC: both say the object is damaged, and which one a position gets is chance.
      String mdc = DAMAGED + "the OpenPGP integrity check (MDC) failed: it was altered or cut"
          + " short" + RESTORE_ELSEWHERE;
      String early = DAMAGED + "the OpenPGP stream ends early (truncated)" + RESTORE_ELSEWHERE;
      for (int at : List.of(stored.length / 2, stored.length * 9 / 10, stored.length - 3)) {
        String message = failure(pgp, flip(stored, at), "pgp");
        assertTrue(message.equals(mdc) || message.equals(early), "at " + at + ": " + message);
      }
      // the last bytes are the MDC packet itself, after every length: always the MDC's failure
      assertEquals(mdc, failure(pgp, flip(stored, stored.length - 3), "pgp"));
      for (int cut : List.of(stored.length * 9 / 10, stored.length - 1, stored.length - 22)) {
        assertEquals(DAMAGED + "the OpenPGP stream ends early (truncated)" + RESTORE_ELSEWHERE,
            failure(pgp, Arrays.copyOf(stored, cut), "pgp"), "cut at " + cut);
      }
    }
  }

  @Test
  void digestThreadFailureFailsTheReadWithoutCallingTheObjectDamaged() throws Exception {
    byte[] large = CodecTestData.sample((int) BackgroundDigest.INLINE_BYTES + (1 << 20), 6);
    byte[] stored = encode(Pipelines.forConfig(none(), keys.alice()), large);
    PgpCodec refused = PgpCodec.fromConfig(keys.alice(), task -> {
      throw new RejectedExecutionException("digest pool is shut down");
    });
    var thrown = assertThrows(CodecException.class, () -> {
      try (InputStream in = refused.decoder(new ByteArrayInputStream(stored), KEY)) {
        in.readAllBytes();
      }
    });
    assertEquals("object " + KEY + " cannot be verified: computing its OpenPGP integrity check"
        + " (MDC) failed (hashing on the digest thread failed:"
        + " java.util.concurrent.RejectedExecutionException: digest pool is shut down), so what"
        + " was read is not trusted; the object itself may be intact: read it again",
        thrown.getMessage());
  }

  @Test
  void digestThreadFailureFailsTheEncryptionAndWritesNoTrailer() throws Exception {
    byte[] large = CodecTestData.sample((int) BackgroundDigest.INLINE_BYTES + (1 << 20), 7);
    PgpCodec refused = PgpCodec.fromConfig(keys.alice(), task -> {
      throw new RejectedExecutionException("digest pool is shut down");
    });
    var sink = new ByteArrayOutputStream();
    var thrown = assertThrows(BackgroundDigest.Failure.class, () -> {
      try (OutputStream out = refused.encoder(sink)) {
        out.write(large);
      }
    });
    assertEquals("hashing on the digest thread failed:"
        + " java.util.concurrent.RejectedExecutionException: digest pool is shut down",
        thrown.getMessage());
    // what reached the sink is no whole object: reading it back fails, nothing passes as stored
    assertThrows(CodecException.class, () -> {
      try (InputStream in = PgpCodec.fromConfig(keys.alice()).decoder(
          new ByteArrayInputStream(sink.toByteArray()), KEY)) {
        in.readAllBytes();
      }
    });
  }

  @Test
  void truncatedOrFlippedZstdPlusPgpIsDetected() throws Exception {
    CodecPipeline pipeline = Pipelines.forConfig(zstd(), keys.alice());
    byte[] stored = encode(pipeline, DATA);
    for (int cut : List.of(stored.length / 2, stored.length - 1)) {
      String message = failure(pipeline, Arrays.copyOf(stored, cut), "zstd+pgp");
      assertEquals(true, message.startsWith(DAMAGED), message);
    }
    String message = failure(pipeline, flip(stored, stored.length / 2), "zstd+pgp");
    assertEquals(true, message.startsWith(DAMAGED), message);
  }

  @Test
  void unknownCodecIsRefusedByName() {
    assertEquals("object " + KEY + " was written with codec 'lz4' (stored codec 'lz4+pgp'),"
        + " which this pgsidecar does not know: read it with the pgsidecar version that wrote it",
        failure(Pipelines.plain(), DATA, "lz4+pgp"));
  }

  @Test
  void unsupportedSettingsAreRejectedWithTheKeyName() {
    assertEquals("compression.algorithm 'gzip' is not supported: use zstd or none",
        assertThrows(IllegalArgumentException.class, () -> Pipelines.forConfig(
            new io.pgsidecar.core.config.PgsidecarConfig.Compression("gzip", 3, 0),
            noEncryption())).getMessage());
    String missing = assertThrows(IllegalArgumentException.class, () -> Pipelines.forConfig(
        zstd(), encryption(List.of(), keys.gpg.dir().resolve("nope"), List.of(), null)))
        .getMessage();
    assertEquals(true, missing.startsWith("encryption.passphrase-file: cannot read "
        + keys.gpg.dir().resolve("nope")), missing);
  }
}
