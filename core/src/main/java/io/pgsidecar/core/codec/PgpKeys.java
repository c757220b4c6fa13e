package io.pgsidecar.core.codec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSecretKeyRing;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureSubpacketVector;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.jcajce.JcaPGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.jcajce.JcaPGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPContentVerifierBuilderProvider;

/**
 * Loads the key material named by the {@code encryption.*} settings, once, at start-up: public
 * keys (armored or binary; the encryption subkey is chosen by its key flags, because
 * {@code isEncryptionKey()} is also true for an RSA primary that may only sign), secret keys, and
 * the first line of passphrase files. Errors name the setting and the file, never its content.
 */
final class PgpKeys {

  private static final HexFormat HEX = HexFormat.of().withUpperCase();
  private static final int ENCRYPT = KeyFlags.ENCRYPT_COMMS | KeyFlags.ENCRYPT_STORAGE;

  private PgpKeys() {}

  /** One recipient: its primary key fingerprint (what operators see) and the key we encrypt to. */
  record Recipient(String fingerprint, PGPPublicKey encryptionKey) {}

  /** A secret key (primary or subkey) and the file it came from, by key ID. */
  record Secret(PGPSecretKey key, Path file) {}

  static List<Recipient> loadRecipients(List<Path> files) {
    List<Recipient> recipients = new ArrayList<>();
    for (Path file : files) {
      try (InputStream in = PGPUtil.getDecoderStream(Files.newInputStream(file))) {
        var rings = new JcaPGPPublicKeyRingCollection(in);
        int before = recipients.size();
        for (PGPPublicKeyRing ring : rings) {
          recipients.add(new Recipient(fingerprint(ring.getPublicKey()), encryptionKey(ring, file)));
        }
        if (recipients.size() == before) {
          throw new IllegalArgumentException("encryption.public-keys: " + file
              + " holds no OpenPGP public key: export one with gpg --export --armor FPR");
        }
      } catch (IOException | PGPException e) {
        throw new IllegalArgumentException("encryption.public-keys: cannot read " + file + ": "
            + e.getMessage() + ": give an OpenPGP public key file (gpg --export --armor FPR)", e);
      }
    }
    return List.copyOf(recipients);
  }

  static Map<Long, Secret> loadSecretKeys(List<Path> files) {
    Map<Long, Secret> keys = new LinkedHashMap<>();
    for (Path file : files) {
      try (InputStream in = PGPUtil.getDecoderStream(Files.newInputStream(file))) {
        for (PGPSecretKeyRing ring : new JcaPGPSecretKeyRingCollection(in)) {
          for (PGPSecretKey key : ring) {
            if (!key.isPrivateKeyEmpty()) { // gpg stubs for keys kept on a card carry no secret
              keys.put(key.getKeyID(), new Secret(key, file));
            }
          }
        }
      } catch (IOException | PGPException e) {
        throw new IllegalArgumentException("encryption.secret-keys: cannot read " + file + ": "
            + e.getMessage() + ": give an OpenPGP secret key file (gpg --export-secret-keys FPR)",
            e);
      }
    }
    return keys;
  }

  /** The first line of a secret file, as gpg's --passphrase-file reads it. */
  static char[] readSecretLine(Path file, String setting) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IllegalArgumentException(setting + ": cannot read " + file + ": " + e, e);
    }
    int end = 0;
    while (end < bytes.length && bytes[end] != '\n') {
      end++;
    }
    if (end > 0 && bytes[end - 1] == '\r') {
      end--;
    }
    CharBuffer chars = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(bytes, 0, end));
    Arrays.fill(bytes, (byte) 0);
    char[] line = new char[chars.remaining()];
    chars.get(line);
    Arrays.fill(chars.array(), '\0');
    if (line.length == 0) {
      throw new IllegalArgumentException(setting + ": " + file + " is empty: put the passphrase"
          + " on its first line");
    }
    return line;
  }

  static String fingerprint(PGPPublicKey key) {
    return HEX.formatHex(key.getFingerprint());
  }

  static String keyId(long id) {
    return String.format("%016X", id);
  }

  /** The newest valid key whose self-signature allows encryption; the primary only if flagged. */
  private static PGPPublicKey encryptionKey(PGPPublicKeyRing ring, Path file) {
    PGPPublicKey primary = ring.getPublicKey();
    PGPPublicKey best = null;
    for (PGPPublicKey key : ring) {
      if (!key.isEncryptionKey() || key.hasRevocation() || expired(key)) {
        continue;
      }
      int flags = key.isMasterKey() ? primaryFlags(key) : subkeyFlags(key, primary);
      if ((flags & ENCRYPT) != 0
          && (best == null || key.getCreationTime().after(best.getCreationTime()))) {
        best = key;
      }
    }
    if (best == null) {
      String fpr = fingerprint(primary);
      throw new IllegalArgumentException("encryption.public-keys: key " + fpr + " in " + file
          + " has no valid encryption subkey: add one with gpg --quick-add-key " + fpr
          + " rsa3072 encr never, then export the public key again");
    }
    return best;
  }

  private static boolean expired(PGPPublicKey key) {
    long valid = key.getValidSeconds();
    return valid > 0
        && key.getCreationTime().getTime() + valid * 1000 < System.currentTimeMillis();
  }

  private static int primaryFlags(PGPPublicKey primary) {
    int flags = 0;
    for (Iterator<PGPSignature> it = primary.getSignatures(); it.hasNext(); ) {
      PGPSignature sig = it.next();
      if (sig.getKeyID() == primary.getKeyID() && (sig.isCertification()
          || sig.getSignatureType() == PGPSignature.DIRECT_KEY)) {
        flags |= flags(sig);
      }
    }
    return flags;
  }

  /** Flags of binding signatures that verify: a forged subkey in a tampered file is ignored. */
  private static int subkeyFlags(PGPPublicKey subkey, PGPPublicKey primary) {
    int flags = 0;
    for (Iterator<PGPSignature> it = subkey.getSignaturesOfType(PGPSignature.SUBKEY_BINDING);
        it.hasNext(); ) {
      PGPSignature sig = it.next();
      try {
        sig.init(new JcaPGPContentVerifierBuilderProvider(), primary);
        if (sig.verifyCertification(primary, subkey)) {
          flags |= flags(sig);
        }
      } catch (PGPException e) {
        // an unverifiable binding grants nothing
      }
    }
    return flags;
  }

  private static int flags(PGPSignature sig) {
    PGPSignatureSubpacketVector hashed = sig.getHashedSubPackets();
    return hashed == null ? 0 : hashed.getKeyFlags();
  }
}
