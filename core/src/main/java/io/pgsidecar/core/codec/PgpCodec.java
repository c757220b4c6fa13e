package io.pgsidecar.core.codec;

import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.stream.Collectors;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.bouncycastle.bcpg.AEADEncDataPacket;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.InputStreamPacket;
import org.bouncycastle.bcpg.PublicKeyEncSessionPacket;
import org.bouncycastle.bcpg.S2K;
import org.bouncycastle.bcpg.SymmetricEncIntegrityPacket;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.bcpg.SymmetricKeyEncSessionPacket;
import org.bouncycastle.openpgp.PGPCompressedData;
import org.bouncycastle.openpgp.PGPEncryptedData;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPEncryptedDataList;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.bouncycastle.openpgp.PGPMarker;
import org.bouncycastle.openpgp.PGPOnePassSignatureList;
import org.bouncycastle.openpgp.PGPPBEEncryptedData;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKeyEncryptedData;
import org.bouncycastle.openpgp.PGPSessionKey;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.jcajce.JcaPGPObjectFactory;
import org.bouncycastle.openpgp.operator.PBEDataDecryptorFactory;
import org.bouncycastle.openpgp.operator.PGPDataDecryptor;
import org.bouncycastle.openpgp.operator.PGPDataDecryptorFactory;
import org.bouncycastle.openpgp.operator.PGPDataEncryptor;
import org.bouncycastle.openpgp.operator.PGPDigestCalculator;
import org.bouncycastle.openpgp.operator.PGPDigestCalculatorProvider;
import org.bouncycastle.openpgp.operator.PublicKeyDataDecryptorFactory;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEDataDecryptorFactoryBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEKeyEncryptionMethodGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcePBESecretKeyDecryptorBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePublicKeyDataDecryptorFactoryBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePublicKeyKeyEncryptionMethodGenerator;

/**
 * OpenPGP encryption (Bouncy Castle stays in this class and {@link PgpKeys}). Writes what
 * {@code gpg --decrypt} reads: AES-256 with an integrity packet (MDC), no compression packet (zstd
 * ran before), to every configured public key and/or a passphrase. Reads our output and gpg's
 * ({@code --encrypt -r}, {@code --symmetric}), with secret keys or the passphrase. Uses the Jce
 * builders on the default JDK provider (several times faster than the lightweight ones), with
 * the AES/CFB stream of encryption computed through AES/CBC ({@link AesCfbOutputStream}), and
 * of decryption through AES/ECB ({@link AesCfbInputStream}). When decrypting, the SHA-1 of the
 * integrity packet, which costs about four times the AES, runs on a {@code pgsidecar-digest-N}
 * pool thread past the first few MiB ({@link BackgroundDigest}), and so does the second hash
 * context of a large passphrase S2K.
 *
 * <p>Decoding streams: plain bytes flow before the MDC at the end is checked, so the end of the
 * stream is where a damaged or truncated object fails; callers must read to the end before they
 * trust what they read.
 */
public final class PgpCodec implements Codec {

  public static final String NAME = "pgp";

  private static final int BUFFER = 1 << 16;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final byte[] PASSPHRASE_ID_SALT =
      "pgsidecar passphrase identifier v1".getBytes(java.nio.charset.StandardCharsets.UTF_8);

  private final List<PgpKeys.Recipient> recipients;
  private final char[] passphrase;
  private final Map<Long, PgpKeys.Secret> secretKeys;
  private final char[] secretKeyPassphrase;
  private final Map<Long, PGPPrivateKey> unlocked = new ConcurrentHashMap<>();
  private final String keyFingerprint;
  /** Runs the MDC's SHA-1 and S2K hash contexts while the caller decrypts. */
  private final Executor digestPool;

  private PgpCodec(List<PgpKeys.Recipient> recipients, char[] passphrase,
      Map<Long, PgpKeys.Secret> secretKeys, char[] secretKeyPassphrase, Executor digestPool) {
    this.digestPool = digestPool;
    this.recipients = recipients;
    this.passphrase = passphrase;
    this.secretKeys = secretKeys;
    this.secretKeyPassphrase = secretKeyPassphrase == null ? new char[0] : secretKeyPassphrase;
    this.keyFingerprint = !recipients.isEmpty() ? recipients.get(0).fingerprint()
        : passphrase != null ? passphraseId(passphrase) : "";
  }

  /** Reads every key and secret file named by {@code encryption}, once. */
  public static PgpCodec fromConfig(PgsidecarConfig.Encryption encryption) {
    return fromConfig(encryption, BackgroundDigest.sharedPool());
  }

  /** As {@link #fromConfig(PgsidecarConfig.Encryption)}, hashing on {@code digestPool}. */
  static PgpCodec fromConfig(PgsidecarConfig.Encryption encryption, Executor digestPool) {
    return new PgpCodec(
        PgpKeys.loadRecipients(encryption.publicKeys()),
        encryption.passphraseFile()
            .map(f -> PgpKeys.readSecretLine(f, "encryption.passphrase-file")).orElse(null),
        PgpKeys.loadSecretKeys(encryption.secretKeys()),
        encryption.secretKeyPassphraseFile()
            .map(f -> PgpKeys.readSecretLine(f, "encryption.secret-key-passphrase-file"))
            .orElse(null),
        digestPool);
  }

  /** No keys at all: reading an encrypted object says which setting is missing. */
  public static PgpCodec none() {
    return new PgpCodec(List.of(), null, Map.of(), null, BackgroundDigest.sharedPool());
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String suffix() {
    return "pgp";
  }

  /** True when there is something to encrypt to (a public key or a passphrase). */
  public boolean canEncrypt() {
    return !recipients.isEmpty() || passphrase != null;
  }

  /**
   * The first recipient's primary key fingerprint (hex, upper case); for passphrase-only
   * encryption {@code passphrase:} and 16 hex digits of PBKDF2-HMAC-SHA256 (fixed salt, 210,000
   * iterations) over the passphrase. That identifier tells two passphrases apart without
   * revealing one: 64 bits of a one-way function, and testing a guess against it costs more than
   * testing the guess against any encrypted object (whose OpenPGP S2K quick check is a cheaper
   * oracle already), so publishing it in metadata gives an attacker nothing new.
   */
  public String keyFingerprint() {
    return keyFingerprint;
  }

  @Override
  public OutputStream encoder(OutputStream sink) throws IOException {
    if (!canEncrypt()) {
      throw new IllegalStateException("nothing to encrypt to: set encryption.public-keys or"
          + " encryption.passphrase-file");
    }
    var generator = new PGPEncryptedDataGenerator(new FastAesEncryptorBuilder());
    for (PgpKeys.Recipient r : recipients) {
      generator.addMethod(new JcePublicKeyKeyEncryptionMethodGenerator(r.encryptionKey())
          .setSecureRandom(RANDOM));
    }
    if (passphrase != null) {
      generator.addMethod(new JcePBEKeyEncryptionMethodGenerator(passphrase)
          .setSecureRandom(RANDOM));
    }
    try {
      OutputStream encrypted = generator.open(sink, new byte[BUFFER]);
      OutputStream literal = new PGPLiteralDataGenerator().open(encrypted, PGPLiteralData.BINARY,
          "", PGPLiteralData.NOW, new byte[BUFFER]);
      return new PgpEncodingStream(literal, encrypted, sink);
    } catch (PGPException e) {
      throw new IOException("cannot start OpenPGP encryption: " + e.getMessage(), e);
    }
  }

  @Override
  public InputStream decoder(InputStream source) throws IOException {
    return decoder(source, "(unnamed)");
  }

  @Override
  public InputStream decoder(InputStream source, String objectKey) throws IOException {
    PGPEncryptedDataList list;
    try {
      var factory = new JcaPGPObjectFactory(PGPUtil.getDecoderStream(source));
      Object first = factory.nextObject();
      while (first instanceof PGPMarker) {
        first = factory.nextObject();
      }
      if (!(first instanceof PGPEncryptedDataList l)) {
        throw CodecException.damaged(objectKey, first == null
            ? "it is empty, not an OpenPGP message (truncated)"
            : "it is not an OpenPGP encrypted message", null);
      }
      list = l;
    } catch (CodecException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw CodecException.damaged(objectKey, "its OpenPGP header is unreadable ("
          + e.getMessage() + ")", e);
    }
    List<PGPPublicKeyEncryptedData> toKeys = new ArrayList<>();
    List<PGPPBEEncryptedData> toPassphrase = new ArrayList<>();
    for (PGPEncryptedData data : list) {
      if (data instanceof PGPPublicKeyEncryptedData pk) {
        toKeys.add(pk);
      } else if (data instanceof PGPPBEEncryptedData pbe) {
        toPassphrase.add(pbe);
      }
    }
    try {
      Opened opened = open(objectKey, toKeys, toPassphrase);
      if (!opened.data.isIntegrityProtected()) {
        throw new CodecException("object " + objectKey + " is encrypted without integrity"
            + " protection (no MDC), so changes to it would go unnoticed: refusing to read it;"
            + " check it and decrypt it by hand with gpg if you trust it");
      }
      return new PgpDecodingStream(literalData(opened.clear, objectKey), opened.data, objectKey);
    } catch (PGPException e) {
      throw CodecException.damaged(objectKey, "OpenPGP decryption failed (" + e.getMessage()
          + ")", e);
    }
  }

  private record Opened(PGPEncryptedData data, InputStream clear) {}

  /** Secret keys first, then the passphrase; otherwise say which key the object needs. */
  private Opened open(String objectKey, List<PGPPublicKeyEncryptedData> toKeys,
      List<PGPPBEEncryptedData> toPassphrase) throws IOException, PGPException {
    for (PGPPublicKeyEncryptedData pk : toKeys) {
      for (PgpKeys.Secret secret : candidates(recipientId(pk))) {
        var factory = new FastAesPublicKeyDecryptorFactory(
            new JcePublicKeyDataDecryptorFactoryBuilder().build(privateKey(secret, objectKey)),
            digestPool);
        try {
          return new Opened(pk, pk.getDataStream(factory));
        } catch (PGPException e) {
          if (recipientId(pk) != 0) {
            throw e;
          } // a hidden recipient: try the next key
        }
      }
    }
    if (passphrase != null && !toPassphrase.isEmpty()) {
      var digests = new JcaPGPDigestCalculatorProviderBuilder().build();
      var factory = new FastAesPbeDecryptorFactory(passphrase, digests,
          new JcePBEDataDecryptorFactoryBuilder(digests).build(passphrase), digestPool);
      for (PGPPBEEncryptedData pbe : toPassphrase) {
        try {
          return new Opened(pbe, pbe.getDataStream(factory));
        } catch (PGPException e) {
          // a wrong passphrase fails the quick check; try the next passphrase packet
        }
      }
      throw new CodecException("object " + objectKey + " does not decrypt with the passphrase"
          + " in encryption.passphrase-file (wrong passphrase): configure the passphrase it was"
          + " written with");
    }
    throw cannotOpen(objectKey, toKeys, toPassphrase);
  }

  /** The 64-bit key ID a message names (0 for a hidden recipient, gpg --throw-keyids). */
  private static long recipientId(PGPPublicKeyEncryptedData pk) {
    return pk.getKeyIdentifier().getKeyId();
  }

  private List<PgpKeys.Secret> candidates(long keyId) {
    if (keyId == 0) {
      return List.copyOf(secretKeys.values());
    }
    PgpKeys.Secret secret = secretKeys.get(keyId);
    return secret == null ? List.of() : List.of(secret);
  }

  private CodecException cannotOpen(String objectKey, List<PGPPublicKeyEncryptedData> toKeys,
      List<PGPPBEEncryptedData> toPassphrase) {
    if (toKeys.isEmpty() && toPassphrase.isEmpty()) {
      return CodecException.damaged(objectKey, "its OpenPGP message names no key and no"
          + " passphrase", null);
    }
    if (toKeys.isEmpty()) {
      return new CodecException("object " + objectKey + " is encrypted with a passphrase, but"
          + " encryption.passphrase-file is not set: set it to the passphrase the object was"
          + " written with");
    }
    String ids = toKeys.stream().map(pk -> PgpKeys.keyId(recipientId(pk)))
        .collect(Collectors.joining(", "));
    String to = "object " + objectKey + " is encrypted to key " + ids;
    String orPassphrase = toPassphrase.isEmpty() ? ""
        : " (or set encryption.passphrase-file: it is also encrypted with a passphrase)";
    if (secretKeys.isEmpty()) {
      return new CodecException(to + ", but encryption.secret-keys is empty: add that secret key"
          + " to encryption.secret-keys" + orPassphrase);
    }
    String configured = secretKeys.keySet().stream().map(PgpKeys::keyId)
        .collect(Collectors.joining(", ", "[", "]"));
    return new CodecException(to + "; the configured secret keys are " + configured
        + ": add the right key to encryption.secret-keys" + orPassphrase);
  }

  private PGPPrivateKey privateKey(PgpKeys.Secret secret, String objectKey) throws IOException {
    try {
      return unlocked.computeIfAbsent(secret.key().getKeyID(), id -> {
        try {
          return secret.key().extractPrivateKey(new JcePBESecretKeyDecryptorBuilder(
              new JcaPGPDigestCalculatorProviderBuilder().build()).build(secretKeyPassphrase));
        } catch (PGPException e) {
          throw new IllegalStateException(e);
        }
      });
    } catch (IllegalStateException e) {
      throw new CodecException("object " + objectKey + ": cannot unlock secret key "
          + PgpKeys.keyId(secret.key().getKeyID()) + " from " + secret.file()
          + " (wrong or missing encryption.secret-key-passphrase-file?): configure the"
          + " passphrase of that key", e.getCause());
    }
  }

  /** Unwraps gpg's default compression and one-pass signatures down to the literal data. */
  private static InputStream literalData(InputStream clear, String objectKey)
      throws IOException, PGPException {
    Object packet;
    try {
      var factory = new JcaPGPObjectFactory(clear);
      packet = factory.nextObject();
      if (packet instanceof PGPCompressedData compressed) {
        factory = new JcaPGPObjectFactory(compressed.getDataStream());
        packet = factory.nextObject();
      }
      while (packet instanceof PGPOnePassSignatureList) {
        packet = factory.nextObject();
      }
    } catch (EOFException e) {
      throw CodecException.damaged(objectKey, "the OpenPGP stream ends early (truncated)", e);
    } catch (IOException | RuntimeException e) {
      throw CodecException.damaged(objectKey, "its OpenPGP content is unreadable ("
          + e.getMessage() + ")", e);
    }
    if (!(packet instanceof PGPLiteralData literal)) {
      throw CodecException.damaged(objectKey, "its OpenPGP message holds no literal data", null);
    }
    return literal.getInputStream();
  }

  private static String passphraseId(char[] passphrase) {
    try {
      var spec = new PBEKeySpec(passphrase, PASSPHRASE_ID_SALT, 210_000, 256);
      byte[] hash = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec)
          .getEncoded();
      spec.clearPassword();
      return "passphrase:" + HexFormat.of().withUpperCase().formatHex(hash, 0, 8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("PBKDF2WithHmacSHA256 is missing from this JDK", e);
    }
  }

  /**
   * Bouncy Castle's Jce encryptor for AES-256 with MDC, with its JCE AES/CFB stream swapped for
   * {@link AesCfbOutputStream} (same bytes, several times faster); the SHA-1 integrity
   * calculator and everything else stay Bouncy Castle's.
   */
  private static final class FastAesEncryptorBuilder extends JcePGPDataEncryptorBuilder {
    FastAesEncryptorBuilder() {
      super(SymmetricKeyAlgorithmTags.AES_256);
      setWithIntegrityPacket(true);
      setSecureRandom(RANDOM);
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
          return jce.getIntegrityCalculator();
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
   * the last 20, then reads the digest once to compare): a {@link BackgroundDigest}. A failure
   * of its thread comes out of {@code getDigest()} as an {@link UncheckedIOException} around a
   * {@link BackgroundDigest.Failure}; {@link PgpDecodingStream} turns it into a failed read.
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
  private record FastAesPublicKeyDecryptorFactory(PublicKeyDataDecryptorFactory jce,
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
  private static final class FastAesPbeDecryptorFactory extends PBEDataDecryptorFactory {
    private final PBEDataDecryptorFactory jce;
    private final char[] passphrase;
    private final Executor digestPool;

    FastAesPbeDecryptorFactory(char[] passphrase, PGPDigestCalculatorProvider digests,
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

  @Override
  public String toString() {
    return "PgpCodec[recipients=" + recipients.stream().map(PgpKeys.Recipient::fingerprint)
        .toList() + ", passphrase=" + (passphrase != null ? "set" : "none") + ", secretKeys="
        + secretKeys.keySet().stream().map(PgpKeys::keyId).toList() + "]";
  }
}
