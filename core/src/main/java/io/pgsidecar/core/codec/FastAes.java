package io.pgsidecar.core.codec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.bouncycastle.bcpg.AEADEncDataPacket;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.InputStreamPacket;
import org.bouncycastle.bcpg.PublicKeyEncSessionPacket;
import org.bouncycastle.bcpg.S2K;
import org.bouncycastle.bcpg.SymmetricEncIntegrityPacket;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.bcpg.SymmetricKeyEncSessionPacket;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPSessionKey;
import org.bouncycastle.openpgp.operator.PBEDataDecryptorFactory;
import org.bouncycastle.openpgp.operator.PGPDataDecryptor;
import org.bouncycastle.openpgp.operator.PGPDataDecryptorFactory;
import org.bouncycastle.openpgp.operator.PGPDataEncryptor;
import org.bouncycastle.openpgp.operator.PGPDigestCalculator;
import org.bouncycastle.openpgp.operator.PGPDigestCalculatorProvider;
import org.bouncycastle.openpgp.operator.PublicKeyDataDecryptorFactory;
import org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder;

/**
 * The fast AES parts of {@link PgpCodec}, beside Bouncy Castle's own: the AES/CFB streams of
 * encryption ({@link AesCfbOutputStream}) and decryption ({@link AesCfbInputStream}) swapped into
 * its Jce builders and factories, the integrity packet's SHA-1 hashed on a {@code
 * pgsidecar-digest-N} pool thread ({@link BackgroundDigest}), and the iterated and salted S2K
 * derived in large digest updates. Same bytes as Bouncy Castle's in every case; PgpCodec decides
 * what to open and with which key.
 */
final class FastAes {

  private FastAes() {}

  /**
   * Bouncy Castle's Jce encryptor for AES-256 with MDC, with its JCE AES/CFB stream swapped for
   * {@link AesCfbOutputStream} (same bytes, several times faster) and the SHA-1 integrity
   * calculator for {@link #backgroundSha1} (past an object's first {@link
   * BackgroundDigest#INLINE_BYTES}, the plain bytes are hashed on {@code digestPool} while this
   * thread encrypts); everything else stays Bouncy Castle's.
   */
  static final class EncryptorBuilder extends JcePGPDataEncryptorBuilder {
    private final Executor digestPool;

    EncryptorBuilder(Executor digestPool) {
      super(SymmetricKeyAlgorithmTags.AES_256);
      setWithIntegrityPacket(true);
      setSecureRandom(PgpCodec.RANDOM);
      this.digestPool = digestPool;
    }

    @Override
    public PGPDataEncryptor build(byte[] keyBytes) throws PGPException {
      PGPDataEncryptor jce = super.build(keyBytes);
      byte[] key = keyBytes.clone();
      return new PGPDataEncryptor() {
        @Override
        public OutputStream getOutputStream(OutputStream out) {
          try {
            return new AesCfbOutputStream(out, key);
          } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256 is not available in this JDK", e);
          }
        }

        @Override
        public PGPDigestCalculator getIntegrityCalculator() {
          return backgroundSha1(digestPool);
        }

        @Override
        public int getBlockSize() {
          return jce.getBlockSize();
        }
      };
    }
  }

  /**
   * The decryptor of an AES packet with MDC (what we and gpg write) computed by
   * {@link AesCfbInputStream} instead of Bouncy Castle's JCE AES/CFB stream (same bytes, several
   * times faster), and the SHA-1 integrity calculator by {@link #backgroundSha1}; every other
   * packet kind stays Bouncy Castle's.
   */
  private static PGPDataDecryptor fastAes(PGPDataDecryptorFactory jce, boolean withIntegrity,
      int algorithm, byte[] key, Executor digestPool) throws PGPException {
    PGPDataDecryptor decryptor = jce.createDataDecryptor(withIntegrity, algorithm, key);
    boolean aes = algorithm == SymmetricKeyAlgorithmTags.AES_128
        || algorithm == SymmetricKeyAlgorithmTags.AES_192
        || algorithm == SymmetricKeyAlgorithmTags.AES_256;
    if (!withIntegrity || !aes) {
      return decryptor; // OpenPGP CFB with resync (no MDC, refused later) or another cipher
    }
    byte[] aesKey = key.clone();
    return new PGPDataDecryptor() {
      @Override
      public InputStream getInputStream(InputStream in) {
        try {
          return new AesCfbInputStream(in, aesKey);
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException("AES is not available in this JDK", e);
        }
      }

      @Override
      public int getBlockSize() {
        return decryptor.getBlockSize();
      }

      @Override
      public PGPDigestCalculator getIntegrityCalculator() {
        return backgroundSha1(digestPool);
      }
    };
  }

  /**
   * The MDC's SHA-1 as Bouncy Castle asks for it (it writes every plain byte of the packet but
   * the last 20, then reads the digest once to compare; writing, it reads the digest once to
   * append it): a {@link BackgroundDigest}. A failure of its thread comes out of {@code
   * getDigest()} as an {@link UncheckedIOException} around a {@link BackgroundDigest.Failure};
   * {@link PgpDecodingStream} turns it into a failed read, {@link PgpEncodingStream} into a
   * failed close (nothing is acknowledged as stored).
   */
  private static PGPDigestCalculator backgroundSha1(Executor digestPool) {
    BackgroundDigest digest;
    try {
      digest = new BackgroundDigest(MessageDigest.getInstance("SHA-1"), digestPool,
          BackgroundDigest.INLINE_BYTES, BackgroundDigest.CHUNK_SIZE, BackgroundDigest.CHUNKS);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is missing from this JDK", e);
    }
    return new PGPDigestCalculator() {
      @Override
      public int getAlgorithm() {
        return HashAlgorithmTags.SHA1;
      }

      @Override
      public OutputStream getOutputStream() {
        return digest;
      }

      @Override
      public byte[] getDigest() {
        try {
          return digest.digest();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }

      @Override
      public void reset() {
        throw new UnsupportedOperationException("the MDC digest is never reset");
      }
    };
  }

  /** Bouncy Castle's public-key decryptor factory with {@link #fastAes} for the data. */
  record PublicKeyDecryptorFactory(PublicKeyDataDecryptorFactory jce,
      Executor digestPool) implements PublicKeyDataDecryptorFactory {
    @Override
    public byte[] recoverSessionData(PublicKeyEncSessionPacket packet, InputStreamPacket data)
        throws PGPException {
      return jce.recoverSessionData(packet, data);
    }

    @Override
    public byte[] recoverSessionData(int algorithm, byte[][] secKeyData) throws PGPException {
      return jce.recoverSessionData(algorithm, secKeyData);
    }

    @Override
    public byte[] recoverSessionData(int algorithm, byte[][] secKeyData, int version)
        throws PGPException {
      return jce.recoverSessionData(algorithm, secKeyData, version);
    }

    @Override
    public PGPDataDecryptor createDataDecryptor(boolean withIntegrity, int algorithm,
        byte[] key) throws PGPException {
      return fastAes(jce, withIntegrity, algorithm, key, digestPool);
    }

    @Override
    public PGPDataDecryptor createDataDecryptor(AEADEncDataPacket packet,
        PGPSessionKey sessionKey) throws PGPException {
      return jce.createDataDecryptor(packet, sessionKey);
    }

    @Override
    public PGPDataDecryptor createDataDecryptor(SymmetricEncIntegrityPacket packet,
        PGPSessionKey sessionKey) throws PGPException {
      return jce.createDataDecryptor(packet, sessionKey);
    }
  }

  /** Bouncy Castle's passphrase decryptor factory with {@link #fastAes} for the data. */
  static final class PbeDecryptorFactory extends PBEDataDecryptorFactory {
    private final PBEDataDecryptorFactory jce;
    private final char[] passphrase;
    private final Executor digestPool;

    PbeDecryptorFactory(char[] passphrase, PGPDigestCalculatorProvider digests,
        PBEDataDecryptorFactory jce, Executor digestPool) {
      super(passphrase, digests);
      this.jce = jce;
      this.passphrase = passphrase;
      this.digestPool = digestPool;
    }

    @Override
    public byte[] makeKeyFromPassPhrase(int algorithm, S2K s2k) throws PGPException {
      byte[] key = iteratedAndSalted(passphrase, algorithm, s2k, digestPool);
      return key != null ? key : jce.makeKeyFromPassPhrase(algorithm, s2k);
    }

    @Override
    public byte[] recoverSessionData(int algorithm, byte[] key, byte[] secKeyData)
        throws PGPException {
      return jce.recoverSessionData(algorithm, key, secKeyData);
    }

    @Override
    public byte[] recoverAEADEncryptedSessionData(SymmetricKeyEncSessionPacket packet,
        byte[] key) throws PGPException {
      return jce.recoverAEADEncryptedSessionData(packet, key);
    }

    @Override
    public PGPDataDecryptor createDataDecryptor(boolean withIntegrity, int algorithm,
        byte[] key) throws PGPException {
      return fastAes(jce, withIntegrity, algorithm, key, digestPool);
    }

    @Override
    public PGPDataDecryptor createDataDecryptor(AEADEncDataPacket packet,
        PGPSessionKey sessionKey) throws PGPException {
      return jce.createDataDecryptor(packet, sessionKey);
    }

    @Override
    public PGPDataDecryptor createDataDecryptor(SymmetricEncIntegrityPacket packet,
        PGPSessionKey sessionKey) throws PGPException {
      return jce.createDataDecryptor(packet, sessionKey);
    }
  }

  /** Counts from here on hash their second context on the pool (gpg's default is 65,011,712). */
  static final long PARALLEL_S2K_BYTES = 1 << 20;

  static byte[] iteratedAndSalted(char[] passphrase, int algorithm, S2K s2k) {
    return iteratedAndSalted(passphrase, algorithm, s2k, BackgroundDigest.sharedPool());
  }

  /**
   * The AES key of an iterated and salted S2K (RFC 4880 3.7.1.3) with a SHA-1/SHA-2 hash, or
   * null for anything else (Bouncy Castle derives those). Same bytes as Bouncy Castle's, but the
   * repeated salt and passphrase go to the digest in 64 KiB chunks instead of one call per
   * repetition: gpg writes a count of 65,011,712 by default, which took Bouncy Castle ~0.2 s
   * (a fifth of decrypting 1 GB) and takes this ~0.07 s. A key longer than the hash (AES-256
   * from SHA-1: two contexts over the same bytes) hashes its further contexts on
   * {@code digestPool} while this thread hashes the first, when the count is large.
   */
  static byte[] iteratedAndSalted(char[] passphrase, int algorithm, S2K s2k,
      Executor digestPool) {
    int keyLength = switch (algorithm) {
      case SymmetricKeyAlgorithmTags.AES_128 -> 16;
      case SymmetricKeyAlgorithmTags.AES_192 -> 24;
      case SymmetricKeyAlgorithmTags.AES_256 -> 32;
      default -> 0;
    };
    String digest = switch (s2k.getHashAlgorithm()) {
      case HashAlgorithmTags.SHA1 -> "SHA-1";
      case HashAlgorithmTags.SHA224 -> "SHA-224";
      case HashAlgorithmTags.SHA256 -> "SHA-256";
      case HashAlgorithmTags.SHA384 -> "SHA-384";
      case HashAlgorithmTags.SHA512 -> "SHA-512";
      default -> null;
    };
    if (s2k.getType() != S2K.SALTED_AND_ITERATED || keyLength == 0 || digest == null) {
      return null;
    }
    int hashLength;
    try {
      hashLength = MessageDigest.getInstance(digest).getDigestLength();
    } catch (NoSuchAlgorithmException e) {
      return null;
    }
    byte[] salt = s2k.getIV();
    byte[] secret = new String(passphrase).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    int unit = salt.length + secret.length;
    byte[] chunk = new byte[Math.max(1, (1 << 16) / unit) * unit];
    for (int i = 0; i < chunk.length; i += unit) {
      System.arraycopy(salt, 0, chunk, i, salt.length);
      System.arraycopy(secret, 0, chunk, i + salt.length, secret.length);
    }
    long total = Math.max(s2k.getIterationCount(), unit);
    int contexts = (keyLength + hashLength - 1) / hashLength;
    List<CompletableFuture<byte[]>> later = new ArrayList<>();
    byte[] key = new byte[keyLength];
    try {
      for (int context = 1; context < contexts; context++) {
        int zeros = context;
        CompletableFuture<byte[]> hash = null;
        if (total >= PARALLEL_S2K_BYTES) {
          try {
            hash = CompletableFuture.supplyAsync(
                () -> s2kContext(digest, zeros, chunk, total), digestPool);
          } catch (RejectedExecutionException e) {
            // hashed below on this thread
          }
        }
        later.add(hash);
      }
      byte[] first = s2kContext(digest, 0, chunk, total);
      System.arraycopy(first, 0, key, 0, Math.min(hashLength, keyLength));
      for (int context = 1; context < contexts; context++) {
        CompletableFuture<byte[]> hash = later.get(context - 1);
        byte[] h = hash != null ? hash.join() : s2kContext(digest, context, chunk, total);
        int filled = context * hashLength;
        System.arraycopy(h, 0, key, filled, Math.min(hashLength, keyLength - filled));
      }
    } finally {
      for (CompletableFuture<byte[]> hash : later) {
        if (hash != null) {
          hash.exceptionally(e -> null).join(); // done with chunk before it is wiped
        }
      }
      java.util.Arrays.fill(secret, (byte) 0);
      java.util.Arrays.fill(chunk, (byte) 0);
    }
    return key;
  }

  /** Context {@code zeros} of an S2K: that many zero octets, then {@code total} bytes. */
  private static byte[] s2kContext(String digest, int zeros, byte[] chunk, long total) {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(digest + " is missing from this JDK", e);
    }
    md.update(new byte[zeros]);
    for (long left = total; left > 0; ) {
      int n = (int) Math.min(left, chunk.length);
      md.update(chunk, 0, n);
      left -= n;
    }
    return md.digest();
  }
}
