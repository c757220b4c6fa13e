package io.pgsidecar.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * One self-signed certificate per test JVM for the TLS servers tests start ({@link TokenIssuer},
 * {@link Azurite#launchOAuth()}): made at first use with {@code openssl req} (CN and subject
 * alternative names 127.0.0.1 and localhost), and a PKCS12 trust store holding it plus the JDK's
 * own CAs. {@link #get()} points this JVM's {@code javax.net.ssl.trustStore} at that file before
 * any TLS client exists, so the Azure SDK (Netty) and MSAL trust the servers the way a pod trusts a
 * private CA; {@link #jvmOptions()} gives the same to a JVM a test starts.
 */
public final class TestTls {

  public static final String TRUST_STORE_PASSWORD = "changeit";

  private static TestTls instance;

  private final Path dir;
  private final X509Certificate cert;
  private final PrivateKey key;
  private final Path trustStore;

  private TestTls(Path dir, X509Certificate cert, PrivateKey key, Path trustStore) {
    this.dir = dir;
    this.cert = cert;
    this.key = key;
    this.trustStore = trustStore;
  }

  /** The JVM's material; the first call makes it and sets the trust store properties. */
  public static synchronized TestTls get() throws IOException {
    if (instance == null) {
      instance = create();
      System.setProperty("javax.net.ssl.trustStore", instance.trustStore.toString());
      System.setProperty("javax.net.ssl.trustStorePassword", TRUST_STORE_PASSWORD);
      System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
    }
    return instance;
  }

  private static TestTls create() throws IOException {
    Path dir = Files.createTempDirectory("test-tls-");
    Path certPem = dir.resolve("cert.pem");
    Path keyPem = dir.resolve("key.pem");
    Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", keyPem.toString(), "-out", certPem.toString(), "-days", "2",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException("openssl req failed (is openssl installed?): " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while making the test certificate", e);
    }
    try {
      X509Certificate cert;
      try (InputStream in = Files.newInputStream(certPem)) {
        cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      }
      String pem = Files.readString(keyPem);
      if (!pem.contains("BEGIN PRIVATE KEY")) {
        throw new IOException("openssl wrote a key that is not PKCS#8: " + keyPem);
      }
      byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
      PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));

      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      Path cacerts = Path.of(System.getProperty("java.home"), "lib", "security", "cacerts");
      if (Files.exists(cacerts)) {
        KeyStore jdk = KeyStore.getInstance(KeyStore.getDefaultType());
        try (InputStream in = Files.newInputStream(cacerts)) {
          jdk.load(in, null);
        }
        for (String alias : Collections.list(jdk.aliases())) {
          if (jdk.isCertificateEntry(alias)) {
            trust.setCertificateEntry(alias, jdk.getCertificate(alias));
          }
        }
      }
      trust.setCertificateEntry("pgsidecar-test", cert);
      Path trustStore = dir.resolve("truststore.p12");
      try (OutputStream out2 = Files.newOutputStream(trustStore)) {
        trust.store(out2, TRUST_STORE_PASSWORD.toCharArray());
      }
      return new TestTls(dir, cert, key, trustStore);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot load the test certificate made in " + dir + ": " + e, e);
    }
  }

  /** PEM certificate, for servers that read files (Azurite {@code --cert}). */
  public Path certPem() {
    return dir.resolve("cert.pem");
  }

  /** PEM PKCS#8 private key (Azurite {@code --key}). */
  public Path keyPem() {
    return dir.resolve("key.pem");
  }

  public Path trustStore() {
    return trustStore;
  }

  /** The options a JVM a test starts needs to trust the test servers. */
  public List<String> jvmOptions() {
    return List.of("-Djavax.net.ssl.trustStore=" + trustStore,
        "-Djavax.net.ssl.trustStorePassword=" + TRUST_STORE_PASSWORD,
        "-Djavax.net.ssl.trustStoreType=PKCS12");
  }

  /** A server-side context with the certificate and its key. */
  public SSLContext serverContext() throws IOException {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("server", key, TRUST_STORE_PASSWORD.toCharArray(), new Certificate[] {cert});
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, TRUST_STORE_PASSWORD.toCharArray());
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot build the test server's TLS context: " + e, e);
    }
  }

  /** RS256 signature with the certificate's key (for the JWTs {@link TokenIssuer} issues). */
  byte[] sign(byte[] data) {
    try {
      Signature s = Signature.getInstance("SHA256withRSA");
      s.initSign(key);
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
