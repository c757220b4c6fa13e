package io.pgsidecar.testkit;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobServiceClientBuilder;
import com.azure.storage.blob.sas.BlobContainerSasPermission;
import com.azure.storage.blob.sas.BlobServiceSasSignatureValues;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A real Azurite blob service for tests: {@code node main.js} on a free port of 127.0.0.1 with
 * its data in a temp directory, plus one container: {@code try (var azurite = Azurite.launch())}.
 * {@link #stop()} and {@link #start()} restart
 * it on the same port and data (to play a storage outage); {@link #close()} stops it and removes
 * its data. Found through {@code PGSIDECAR_AZURITE_MAIN} or {@code <repo>/.cache/azurite}.
 */
public final class Azurite implements AutoCloseable {

  public static final String ACCOUNT = "devstoreaccount1";
  /** Azurite's well-known development key (public, documented by Microsoft). */
  public static final String KEY =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

  private static final String RELATIVE_MAIN =
      ".cache/azurite/node_modules/azurite/dist/src/blob/main.js";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final Path main;
  private final Path location;
  private final int port;
  private final String container;
  /** {@code cert.pem}, {@code key.pem} and {@code ts.p12} when it serves HTTPS, else null. */
  private final Path tls;
  /** The certificate of the HTTPS + {@code --oauth basic} mode ({@link #launchOAuth()}), else null. */
  private final TestTls oauth;
  private ServerProcess server;

  private Azurite(Path main, Path location, int port, String container, Path tls, TestTls oauth) {
    this.tls = tls;
    this.oauth = oauth;
    this.main = main;
    this.location = location;
    this.port = port;
    this.container = container;
  }

  /** Starts Azurite with a container of a random name. */
  public static Azurite launch() throws IOException {
    return launch("c" + UUID.randomUUID().toString().replace("-", "").substring(0, 20));
  }

  /** Starts Azurite with a container named {@code container} (3+ lower-case characters). */
  public static Azurite launch(String container) throws IOException {
    return launch(container, false, null);
  }

  /**
   * Starts Azurite over HTTPS with a self-signed certificate for 127.0.0.1 (what production
   * Azure speaks, and where the TLS stack's own memory shows): {@link #trustStore()} is the
   * PKCS12 trust store (password {@code changeit}) a JVM under test needs.
   */
  public static Azurite launchHttps() throws IOException {
    return launch("c" + UUID.randomUUID().toString().replace("-", "").substring(0, 20), true, null);
  }

  /**
   * Starts Azurite over HTTPS with {@code --oauth basic} (bearer tokens checked for lifetime,
   * issuer {@code https://sts.windows.net/...} and audience {@code https://storage.azure.com};
   * not their signature) and the certificate of {@link TestTls}, which this JVM then trusts.
   * The account key still works too (the fixture's own clients use it).
   */
  public static Azurite launchOAuth() throws IOException {
    return launch("c" + UUID.randomUUID().toString().replace("-", "").substring(0, 20), false,
        TestTls.get());
  }

  private static Azurite launch(String container, boolean https, TestTls oauth) throws IOException {
    Path location = Files.createTempDirectory("azurite-");
    if (https) {
      // the trust store inside must be readable by an agent running as another user
      Files.setPosixFilePermissions(location, PosixFilePermissions.fromString("rwx--x--x"));
    }
    Path tls = https ? makeCertificate(Files.createDirectories(location.resolve("tls"))) : null;
    var azurite = new Azurite(findMain(), location, ServerProcess.freePort(), container, tls, oauth);
    try {
      azurite.start();
      azurite.createContainer(container);
    } catch (Throwable e) {
      azurite.close();
      throw e;
    }
    return azurite;
  }

  /** (Re)starts the service on the same port and data directory; no-op when running. */
  public synchronized void start() throws IOException {
    if (server != null && server.isAlive()) {
      return;
    }
    var cmd = new java.util.ArrayList<>(java.util.List.of("node", main.toString(), "--blobHost",
        "127.0.0.1", "--blobPort", Integer.toString(port), "--location", location.toString(),
        "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent"));
    if (tls != null) {
      cmd.addAll(java.util.List.of("--cert", tls.resolve("cert.pem").toString(),
          "--key", tls.resolve("key.pem").toString()));
    }
    if (oauth != null) {
      cmd.addAll(java.util.List.of("--cert", oauth.certPem().toString(),
          "--key", oauth.keyPem().toString(), "--oauth", "basic"));
    }
    server = ServerProcess.start("Azurite", cmd, location.resolve("azurite.log"), port,
        START_TIMEOUT, this::answers, 20);
  }

  /** Stops the service (SIGTERM, then SIGKILL); data stays for a later {@link #start()}. */
  public synchronized void stop() {
    if (server != null) {
      server.stop(Duration.ofSeconds(10));
      server = null;
    }
  }

  /** Stops the service and deletes its data. */
  @Override
  public void close() {
    stop();
    ServerProcess.deleteTree(location);
  }

  /** Creates another container (3+ lower-case characters) and returns its name. */
  public String createContainer(String name) {
    containerClient(name).create();
    return name;
  }

  public String container() {
    return container;
  }

  public int port() {
    return port;
  }

  public String account() {
    return ACCOUNT;
  }

  public String key() {
    return KEY;
  }

  /**
   * The blob endpoint, path style: {@code http://127.0.0.1:PORT/devstoreaccount1} ({@code https}
   * for {@link #launchHttps()} and {@link #launchOAuth()}).
   */
  public String endpoint() {
    return scheme() + "://127.0.0.1:" + port + "/" + ACCOUNT;
  }

  /**
   * The trust store holding the certificate of an Azurite started by {@link #launchHttps()} or
   * {@link #launchOAuth()} (PKCS12, password {@code changeit}), e.g. for
   * {@code -Djavax.net.ssl.trustStore}.
   */
  public Path trustStore() {
    if (oauth != null) {
      return oauth.trustStore();
    }
    if (tls == null) {
      throw new IllegalStateException("this Azurite speaks plain HTTP: start it with launchHttps()");
    }
    return tls.resolve("ts.p12");
  }

  private String scheme() {
    return tls == null && oauth == null ? "http" : "https";
  }

  public String connectionString() {
    return "DefaultEndpointsProtocol=" + scheme() + ";AccountName=" + ACCOUNT + ";AccountKey=" + KEY
        + ";BlobEndpoint=" + endpoint() + ";";
  }

  /** Writes the account key to {@code file} (mode 600), like a mounted Kubernetes Secret. */
  public Path writeKeyFile(Path file) throws IOException {
    return writeSecret(file, KEY + "\n");
  }

  /** A SAS token (read, add, create, write, delete, list; one day) for the fixture's container. */
  public String sasToken() {
    return sasToken(container);
  }

  /** A SAS token (read, add, create, write, delete, list; one day) for {@code containerName}. */
  public String sasToken(String containerName) {
    return sasToken(containerName, OffsetDateTime.now().plusDays(1));
  }

  /** A SAS token (read, add, create, write, delete, list) for {@code containerName} until {@code expiry}. */
  public String sasToken(String containerName, OffsetDateTime expiry) {
    var permission = new BlobContainerSasPermission().setReadPermission(true)
        .setAddPermission(true).setCreatePermission(true).setWritePermission(true)
        .setDeletePermission(true).setListPermission(true);
    var values = new BlobServiceSasSignatureValues(expiry, permission)
        .setStartTime(OffsetDateTime.now().minusMinutes(5));
    return containerClient(containerName).generateSas(values);
  }

  /** A client with the account key, for assertions that look behind the driver. */
  public BlobContainerClient containerClient(String containerName) {
    var builder = new BlobServiceClientBuilder().connectionString(connectionString());
    // an explicit trust for the fixture's own clients: the JVM's default trust store is fixed at
    // the first TLS connection, which an earlier test of the same JVM may already have made
    Path cert = oauth != null ? oauth.certPem() : tls != null ? tls.resolve("cert.pem") : null;
    if (cert != null) {
      try {
        var ssl = io.netty.handler.ssl.SslContextBuilder.forClient()
            .trustManager(cert.toFile()).build();
        builder.httpClient(new com.azure.core.http.netty.NettyAsyncHttpClientBuilder(
            reactor.netty.http.client.HttpClient.create().secure(s -> s.sslContext(ssl))).build());
      } catch (javax.net.ssl.SSLException e) {
        throw new IllegalStateException("cannot trust Azurite's certificate " + cert, e);
      }
    }
    return builder.buildClient().getBlobContainerClient(containerName);
  }

  /** A self-signed certificate for 127.0.0.1 and its trust store, made with openssl and keytool. */
  private static Path makeCertificate(Path dir) throws IOException {
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    run(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem",
        "-out", "cert.pem", "-days", "30", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    run(dir, keytool, "-importcert", "-noprompt", "-alias", "azurite", "-file", "cert.pem",
        "-keystore", "ts.p12", "-storetype", "PKCS12", "-storepass", "changeit");
    for (String f : java.util.List.of("cert.pem", "ts.p12")) {
      // readable by an agent that runs as another user (postgres)
      Files.setPosixFilePermissions(dir.resolve(f), PosixFilePermissions.fromString("rw-r--r--"));
    }
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }

  private static void run(Path dir, String... cmd) throws IOException {
    Path out = dir.resolve("tool.log");
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile())).start();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + " failed: " + ServerProcess.tail(out, 20));
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + cmd[0], e);
    }
  }

  private boolean answers() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static Path writeSecret(Path file, String text) throws IOException {
    Files.writeString(file, text);
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException ignored) {
      // not a POSIX filesystem: the test still works
    }
    return file;
  }

  static Path findMain() {
    String env = System.getenv("PGSIDECAR_AZURITE_MAIN");
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (Files.isRegularFile(p)) {
        return p;
      }
      throw new IllegalStateException("PGSIDECAR_AZURITE_MAIN=" + env + " is not a file; "
          + "run ./scripts/test.sh (installs Azurite into .cache/azurite)");
    }
    for (Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath(); dir != null;
        dir = dir.getParent()) {
      if (Files.exists(dir.resolve("mvnw")) && Files.isDirectory(dir.resolve("core"))) {
        Path p = dir.resolve(RELATIVE_MAIN);
        if (Files.isRegularFile(p)) {
          return p;
        }
        throw new IllegalStateException("Azurite is not installed at " + p
            + "; run ./scripts/test.sh (installs Azurite into .cache/azurite)");
      }
    }
    throw new IllegalStateException("cannot find the repository root above "
        + System.getProperty("user.dir") + " to locate Azurite; set PGSIDECAR_AZURITE_MAIN or "
        + "run ./scripts/test.sh (installs Azurite into .cache/azurite)");
  }

  @Override
  public String toString() {
    return "Azurite[" + endpoint() + ", container " + container + "]";
  }
}
