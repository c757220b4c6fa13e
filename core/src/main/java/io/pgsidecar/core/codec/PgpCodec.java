package io.pgsidecar.core.codec;

import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.bouncycastle.bcpg.S2K;
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
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.jcajce.JcaPGPObjectFactory;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEDataDecryptorFactoryBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEKeyEncryptionMethodGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcePBESecretKeyDecryptorBuilder;
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
  static final SecureRandom RANDOM = new SecureRandom();
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
    var generator = new PGPEncryptedDataGenerator(new FastAes.EncryptorBuilder(digestPool));
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
        var factory = new FastAes.PublicKeyDecryptorFactory(
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
      var factory = new FastAes.PbeDecryptorFactory(passphrase, digests,
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

  @Override
  public String toString() {
    return "PgpCodec[recipients=" + recipients.stream().map(PgpKeys.Recipient::fingerprint)
        .toList() + ", passphrase=" + (passphrase != null ? "set" : "none") + ", secretKeys="
        + secretKeys.keySet().stream().map(PgpKeys::keyId).toList() + "]";
  }
}
