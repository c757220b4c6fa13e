package io.pgsidecar.core.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Random;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class AesCfbOutputStreamTest {

  private static byte[] jdkCfb(byte[] key, byte[] plain) throws Exception {
    Cipher cfb = Cipher.getInstance("AES/CFB/NoPadding");
    cfb.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(new byte[16]));
    return cfb.doFinal(plain);
  }

  @Test
  void producesTheSameBytesAsTheJdkCfbCipherForAnyLengthAndWritePattern() throws Exception {
    Random random = new Random(9);
    for (int length : List.of(0, 1, 15, 16, 17, 65535, 65536, 65537, 200_003)) {
      byte[] key = new byte[32];
      random.nextBytes(key);
      byte[] plain = new byte[length];
      random.nextBytes(plain);
      var out = new ByteArrayOutputStream();
      try (var cfb = new AesCfbOutputStream(out, key)) {
        for (int off = 0; off < length; ) {
          int n = Math.min(length - off, random.nextInt(3) == 0 ? 1 : random.nextInt(70_000));
          if (n == 1) {
            cfb.write(plain[off]);
          } else {
            cfb.write(plain, off, n);
          }
          off += n;
          if (random.nextInt(5) == 0) {
            cfb.flush();
          }
        }
      }
      assertArrayEquals(jdkCfb(key, plain), out.toByteArray(), "length " + length);
    }
  }
}
