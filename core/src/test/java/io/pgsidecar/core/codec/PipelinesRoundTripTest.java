package io.pgsidecar.core.codec;

import static io.pgsidecar.core.codec.CodecTestData.decode;
import static io.pgsidecar.core.codec.CodecTestData.encode;
import static io.pgsidecar.core.codec.PgpTestKeys.encryption;
import static io.pgsidecar.core.codec.PgpTestKeys.none;
import static io.pgsidecar.core.codec.PgpTestKeys.noEncryption;
import static io.pgsidecar.core.codec.PgpTestKeys.zstd;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class PipelinesRoundTripTest {

  private static final byte[] DATA = CodecTestData.sample(3 << 20, 42);
  private static final String KEY = "main/wal/0000000100000000/000000010000000000000003";
  private final PgpTestKeys keys = PgpTestKeys.get();

  private static void assertRoundTrip(CodecPipeline pipeline) throws Exception {
    for (byte[] plain : List.of(DATA, new byte[0], new byte[] {7})) {
      byte[] stored = encode(pipeline, plain);
      assertArrayEquals(plain, decode(pipeline, stored, pipeline.name(), KEY));
    }
  }

  @Test
  void plainPipelineStoresBytesAsTheyAre() throws Exception {
    CodecPipeline plain = Pipelines.plain();
    assertEquals("none", plain.name());
    assertEquals("", plain.suffix());
    assertEquals("", plain.keyFingerprint());
    assertArrayEquals(DATA, encode(plain, DATA));
    assertRoundTrip(plain);
    assertRoundTrip(Pipelines.forConfig(none(), noEncryption()));
  }

  @Test
  void zstdCompressesAndRoundTrips() throws Exception {
    CodecPipeline zstd = Pipelines.zstd(1);
    assertEquals("zstd", zstd.name());
    assertEquals(".zst", zstd.suffix());
    assertEquals("", zstd.keyFingerprint());
    assertTrue(encode(zstd, DATA).length < DATA.length / 2);
    assertRoundTrip(zstd);
    assertRoundTrip(Pipelines.forConfig(zstd(), noEncryption()));
  }

  @Test
  void pipelineWithCompressionWorkersKeepsItsNameAndKeyAndReadsBackTheSame() throws Exception {
    // the base backup stream is encoded with workers, WAL without: one repository, one format
    byte[] big = CodecTestData.sample(24 << 20, 9);
    CodecPipeline wal = Pipelines.forConfig(zstd(), keys.alice());
    CodecPipeline backup = wal.withCompressionWorkers(2);
    assertEquals(wal.name(), backup.name());
    assertEquals(wal.suffix(), backup.suffix());
    assertEquals(wal.keyFingerprint(), backup.keyFingerprint());
    assertEquals("ZstdCodec[level=3, workers=2]", backup.codecs().getFirst().toString());
    assertArrayEquals(big, decode(wal, encode(backup, big), backup.name(), KEY));
    assertEquals(Pipelines.plain().name(), Pipelines.plain().withCompressionWorkers(2).name());
  }

  @Test
  void pipelineWithCompressionLevelKeepsItsNameAndKeyAndReadsBackTheSame() throws Exception {
    // WAL is written at wal.compression-level, backups at compression.level: one format
    CodecPipeline backup = Pipelines.forConfig(new PgsidecarConfig.Compression("zstd", 3, 2), keys.alice());
    CodecPipeline wal = backup.withCompressionLevel(1);
    assertEquals(backup.name(), wal.name());
    assertEquals(backup.suffix(), wal.suffix());
    assertEquals(backup.keyFingerprint(), wal.keyFingerprint());
    assertEquals("ZstdCodec[level=1, workers=2]", wal.codecs().getFirst().toString());
    assertArrayEquals(DATA, decode(backup, encode(wal, DATA), wal.name(), KEY));
    byte[] text = new byte[4 << 20];
    for (int i = 0; i < text.length; i++) {
      text[i] = (byte) ('a' + (i * 7919 % 1021) % 26);
    }
    assertNotEquals(encode(Pipelines.zstd(1).withCompressionLevel(19), text).length,
        encode(Pipelines.zstd(1), text).length, "the level changes what zstd writes");
    assertEquals(Pipelines.plain().name(), Pipelines.plain().withCompressionLevel(9).name());
  }

  @Test
  void zstdWithWorkersRoundTrips() throws Exception {
    byte[] big = CodecTestData.sample(24 << 20, 7);
    CodecPipeline pipeline = Pipelines.forConfig(new PgsidecarConfig.Compression("zstd", 3, 2),
        noEncryption());
    assertArrayEquals(big, decode(pipeline, encode(pipeline, big), "zstd", KEY));
  }

  @Test
  void pgpToPublicKeyRoundTripsAndNamesTheKey() throws Exception {
    CodecPipeline pgp = Pipelines.forConfig(none(), keys.alice());
    assertEquals("pgp", pgp.name());
    assertEquals(".pgp", pgp.suffix());
    assertEquals(keys.alice.fingerprint(), pgp.keyFingerprint());
    assertRoundTrip(pgp);
  }

  @Test
  void pgpWithPassphraseRoundTripsAndHasAStableNonSecretId() throws Exception {
    CodecPipeline pgp = Pipelines.forConfig(none(), keys.passphrase());
    assertRoundTrip(pgp);
    String id = pgp.keyFingerprint();
    assertTrue(id.matches("passphrase:[0-9A-F]{16}"), id);
    assertEquals(id, Pipelines.forConfig(zstd(), keys.passphrase()).keyFingerprint());
    assertNotEquals(id, Pipelines.forConfig(none(),
        encryption(List.of(), keys.otherPassphraseFile, List.of(), null)).keyFingerprint());
  }

  @Test
  void zstdThenPgpRoundTrips() throws Exception {
    CodecPipeline pipeline = Pipelines.forConfig(zstd(), keys.alice());
    assertEquals("zstd+pgp", pipeline.name());
    assertEquals(".zst.pgp", pipeline.suffix());
    assertEquals(List.of("zstd", "pgp"), pipeline.codecs().stream().map(Codec::name).toList());
    assertRoundTrip(pipeline);
    assertRoundTrip(Pipelines.forConfig(zstd(), keys.bob()));
    assertRoundTrip(Pipelines.forConfig(zstd(), keys.passphrase()));
  }

  @Test
  void everyRecipientAloneCanDecryptAnObjectForSeveral() throws Exception {
    CodecPipeline writer = Pipelines.forConfig(zstd(), encryption(
        List.of(keys.alicePublic, keys.bobPublic), keys.passphraseFile, List.of(), null));
    assertEquals(keys.alice.fingerprint(), writer.keyFingerprint());
    byte[] stored = encode(writer, DATA);
    for (PgsidecarConfig.Encryption reader : List.of(
        encryption(List.of(), null, List.of(keys.aliceSecret), null),
        encryption(List.of(), null, List.of(keys.bobSecret), keys.bobKeyPassphraseFile),
        keys.passphrase())) {
      assertArrayEquals(DATA, decode(Pipelines.forConfig(zstd(), reader), stored, "zstd+pgp",
          KEY), reader.toString());
    }
  }

  @Test
  void objectStoredAsZstdIsReadByAnEncryptingPipeline() throws Exception {
    byte[] stored = encode(Pipelines.zstd(3), DATA);
    assertArrayEquals(DATA, decode(Pipelines.forConfig(zstd(), keys.alice()), stored, "zstd",
        KEY));
    assertArrayEquals(DATA, decode(Pipelines.forConfig(zstd(), keys.alice()), DATA, "none",
        KEY));
  }

  @Test
  void secretKeysAloneWritePlainButReadEncrypted() throws Exception {
    byte[] stored = encode(Pipelines.forConfig(zstd(), keys.alice()), DATA);
    CodecPipeline reader = Pipelines.forConfig(zstd(),
        encryption(List.of(), null, List.of(keys.aliceSecret), null));
    assertEquals("zstd", reader.name());
    assertEquals("", reader.keyFingerprint());
    assertArrayEquals(DATA, decode(reader, stored, "zstd+pgp", KEY));
  }

  @Test
  void toStringShowsNoSecret() {
    String text = Pipelines.forConfig(zstd(), encryption(List.of(keys.alicePublic),
        keys.passphraseFile, List.of(keys.bobSecret), keys.bobKeyPassphraseFile)).toString();
    assertTrue(text.contains(keys.alice.fingerprint()), text);
    assertFalse(text.contains(PgpTestKeys.PASSPHRASE), text);
    assertFalse(text.contains(PgpTestKeys.BOB_KEY_PASSPHRASE), text);
  }
}
