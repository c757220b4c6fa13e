package io.pgsidecar.core.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.util.List;
import java.util.Random;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.S2K;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEDataDecryptorFactoryBuilder;
import org.junit.jupiter.api.Test;

class AesCfbInputStreamTest {

  private static final long SEED = Long.getLong("pgsidecar.fuzz.seed", 17);

  private static byte[] jdkCfb(byte[] key, byte[] cipherText) throws Exception {
    Cipher cfb = Cipher.getInstance("AES/CFB/NoPadding");
    cfb.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(new byte[16]));
    return cfb.doFinal(cipherText);
  }

  /** Hands out the bytes in random fragments, as a network stream does. */
  private static InputStream fragmented(byte[] data, Random random) {
    return new ByteArrayInputStream(data) {
      @Override
      public synchronized int read(byte[] b, int off, int len) {
        int most = 1 + random.nextInt(random.nextBoolean() ? 40 : 90_000);
        return super.read(b, off, Math.min(len, most));
      }

      @Override
      public synchronized int available() {
        return random.nextBoolean() ? 0 : super.available();
      }
    };
  }

  @Test
  void decryptsTheSameBytesAsTheJdkCfbCipherForAnyLengthAndReadPattern() throws Exception {
    System.out.println("AesCfbInputStreamTest seed " + SEED + " (-Dpgsidecar.fuzz.seed)");
    Random random = new Random(SEED);
    for (int keyLength : List.of(16, 24, 32)) {
      for (int length : List.of(0, 1, 15, 16, 17, 31, 65535, 65536, 65537, 65552, 200_003)) {
        byte[] key = new byte[keyLength];
        random.nextBytes(key);
        byte[] cipherText = new byte[length];
        random.nextBytes(cipherText);
        var out = new ByteArrayOutputStream();
        try (var cfb = new AesCfbInputStream(fragmented(cipherText, random), key)) {
          byte[] buffer = new byte[70_000];
          while (true) {
            if (random.nextInt(4) == 0) {
              int b = cfb.read();
              if (b == -1) {
                break;
              }
              out.write(b);
            } else {
              int n = cfb.read(buffer, 0, 1 + random.nextInt(buffer.length));
              if (n == -1) {
                break;
              }
              out.write(buffer, 0, n);
            }
          }
          assertEquals(-1, cfb.read());
        }
        assertArrayEquals(jdkCfb(key, cipherText), out.toByteArray(),
            "seed " + SEED + ", key length " + keyLength + ", length " + length);
      }
    }
  }

  @Test
  void passphraseKeysAreBouncyCastlesForEveryHashCountAndKeyLength() throws Exception {
    Random random = new Random(SEED);
    var digests = new JcaPGPDigestCalculatorProviderBuilder().build();
    for (String passphrase : List.of("", "p", "correct horse battery staple", "pässwört €")) {
      var bc = new JcePBEDataDecryptorFactoryBuilder(digests).build(passphrase.toCharArray());
      for (int hash : List.of(HashAlgorithmTags.SHA1, HashAlgorithmTags.SHA224,
          HashAlgorithmTags.SHA256, HashAlgorithmTags.SHA384, HashAlgorithmTags.SHA512)) {
        for (int algorithm : List.of(SymmetricKeyAlgorithmTags.AES_128,
            SymmetricKeyAlgorithmTags.AES_192, SymmetricKeyAlgorithmTags.AES_256)) {
          // 0xff (65,011,712 bytes, gpg's default) is slow in Bouncy Castle: once per hash
          int big = algorithm == SymmetricKeyAlgorithmTags.AES_256 && passphrase.length() == 1
              ? 0xff : 0x90;
          for (int count : List.of(0, 0x60, big, random.nextInt(0x90))) {
            byte[] salt = new byte[8];
            random.nextBytes(salt);
            var s2k = new S2K(hash, salt, count);
            assertArrayEquals(bc.makeKeyFromPassPhrase(algorithm, s2k),
                FastAes.iteratedAndSalted(passphrase.toCharArray(), algorithm, s2k),
                "passphrase '" + passphrase + "' hash " + hash + " algorithm " + algorithm
                    + " count " + count);
          }
        }
      }
    }
  }
}
