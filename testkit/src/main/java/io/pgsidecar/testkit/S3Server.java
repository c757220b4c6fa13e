package io.pgsidecar.testkit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;

/**
 * A real S3 API server for tests, started as a process on a free port of 127.0.0.1 with its data
 * in a temp directory, plus one bucket: {@code try (var s3 = S3Server.s3Mock())}.
 * <ul>
 *   <li>{@link #s3Mock()}: Adobe S3Mock 4.11.0, which honours {@code If-None-Match: *} (a second
 *       put of a key answers 412).</li>
 *   <li>{@link #s3Proxy()}: s3proxy 2.6.0 on its filesystem backend, which accepts the header and
 *       overwrites anyway: the store the driver must refuse.</li>
 * </ul>
 * Both jars are Maven artifacts that testkit's build copies to {@code testkit/target/s3-servers}
 * (maven-dependency-plugin, see testkit/pom.xml); {@code PGSIDECAR_S3MOCK_JAR} and
 * {@code PGSIDECAR_S3PROXY_JAR} override. Neither server checks signatures: any key pair works
 * ({@link #ACCESS_KEY}, {@link #SECRET_KEY}). {@link #stop()} and {@link #start()} restart it on
 * the same port and data (a storage outage); {@link #close()} stops it and removes its data.
 */
public final class S3Server implements AutoCloseable {

  public static final String ACCESS_KEY = "pgsidecar-test";
  public static final String SECRET_KEY = "pgsidecar-test-secret";
  public static final String REGION = "us-east-1";

  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

  /** Which server. */
  public enum Kind {
    S3MOCK("s3mock-exec.jar", "PGSIDECAR_S3MOCK_JAR"),
    S3PROXY("s3proxy.jar", "PGSIDECAR_S3PROXY_JAR");

    final String jar;
    final String env;

    Kind(String jar, String env) {
      this.jar = jar;
      this.env = env;
    }
  }

  private final Kind kind;
  private final Path jar;
  private final Path location;
  private final int port;
  private final String bucket;
  private ServerProcess server;

  private S3Server(Kind kind, Path jar, Path location, int port, String bucket) {
    this.kind = kind;
    this.jar = jar;
    this.location = location;
    this.port = port;
    this.bucket = bucket;
  }

  /** S3Mock with a bucket of a random name. */
  public static S3Server s3Mock() throws IOException {
    return launch(Kind.S3MOCK);
  }

  /** s3proxy (filesystem backend, no authentication) with a bucket of a random name. */
  public static S3Server s3Proxy() throws IOException {
    return launch(Kind.S3PROXY);
  }

  public static S3Server launch(Kind kind) throws IOException {
    Path location = Files.createTempDirectory(kind.name().toLowerCase() + "-");
    String bucket = "b" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
    var server = new S3Server(kind, findJar(kind), location, ServerProcess.freePort(), bucket);
    try {
      server.start();
      server.createBucket(bucket);
    } catch (Throwable e) {
      server.close();
      throw e;
    }
    return server;
  }

  /** (Re)starts the server on the same port and data directory; no-op when running. */
  public synchronized void start() throws IOException {
    if (server != null && server.isAlive()) {
      return;
    }
    Path log = location.resolve("server.log");
    Path data = location.resolve("data");
    Files.createDirectories(data);
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
    switch (kind) {
      case S3MOCK -> command.addAll(List.of("-jar", jar.toString(), "--server.port=0",
          "--server.address=127.0.0.1",
          "--com.adobe.testing.s3mock.httpPort=" + port,
          "--com.adobe.testing.s3mock.store.root=" + data,
          "--com.adobe.testing.s3mock.store.retainFilesOnExit=true",
          "--spring.main.banner-mode=off", "--logging.level.root=WARN"));
      case S3PROXY -> {
        Properties p = new Properties();
        p.setProperty("s3proxy.endpoint", "http://127.0.0.1:" + port);
        p.setProperty("s3proxy.authorization", "none");
        p.setProperty("jclouds.provider", "filesystem");
        p.setProperty("jclouds.filesystem.basedir", data.toString());
        Path props = location.resolve("s3proxy.conf");
        try (var out = Files.newOutputStream(props)) {
          p.store(out, "pgsidecar test s3proxy");
        }
        command.addAll(List.of("-jar", jar.toString(), "--properties", props.toString()));
      }
    }
    server = ServerProcess.start(kind.toString(), command, log, port, START_TIMEOUT,
        this::answers, 30);
  }

  /** Stops the server (SIGTERM, then SIGKILL); data stays for a later {@link #start()}. */
  public synchronized void stop() {
    if (server != null) {
      server.stop(Duration.ofSeconds(15));
      server = null;
    }
  }

  @Override
  public void close() {
    stop();
    ServerProcess.deleteTree(location);
  }

  /**
   * Creates a bucket (3+ lower-case characters) with an unsigned request (neither server checks
   * signatures) and returns its name.
   */
  public String createBucket(String name) throws IOException {
    HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(endpoint() + "/" + name))
        .PUT(HttpRequest.BodyPublishers.noBody()));
    if (r.statusCode() != 200) {
      throw new IOException("creating bucket " + name + " on " + this + " answered "
          + r.statusCode() + ": " + r.body());
    }
    return name;
  }

  /**
   * Puts {@code body} under {@code key} with {@code If-None-Match: *} and returns the status: what
   * a store with conditional writes answers 412 to on the second put.
   */
  public int putIfNoneMatch(String key, String body) throws IOException {
    return send(HttpRequest.newBuilder(URI.create(endpoint() + "/" + bucket + "/" + key))
        .header("If-None-Match", "*").PUT(HttpRequest.BodyPublishers.ofString(body))).statusCode();
  }

  /** One object of a listing: its key, size in bytes and ETag (quotes removed). */
  public record StoredObject(String key, long size, String etag) {

    /**
     * Whether the object was completed by CompleteMultipartUpload: its ETag ends in {@code -N}
     * (S3's convention, which S3Mock follows), N being the parts of that completion.
     */
    public boolean multipart() {
      return etag.matches(".*-\\d+");
    }
  }

  /**
   * The objects of the bucket under {@code prefix} (ListObjectsV2, unsigned, up to 1000 keys:
   * enough for a test), in key order.
   */
  public List<StoredObject> list(String prefix) throws IOException {
    HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(endpoint() + "/" + bucket
        + "?list-type=2&max-keys=1000&prefix=" + java.net.URLEncoder.encode(prefix,
            java.nio.charset.StandardCharsets.UTF_8))).GET());
    if (r.statusCode() != 200) {
      throw new IOException("listing " + bucket + "/" + prefix + " on " + this + " answered "
          + r.statusCode() + ": " + r.body());
    }
    List<StoredObject> objects = new ArrayList<>();
    var m = java.util.regex.Pattern.compile("<Contents>(.*?)</Contents>",
        java.util.regex.Pattern.DOTALL).matcher(r.body());
    while (m.find()) {
      String c = m.group(1);
      objects.add(new StoredObject(xml(c, "Key"), Long.parseLong(xml(c, "Size")),
          xml(c, "ETag").replace("&quot;", "").replace("\"", "")));
    }
    return objects;
  }

  private static String xml(String element, String name) {
    var m = java.util.regex.Pattern.compile("<" + name + ">(.*?)</" + name + ">",
        java.util.regex.Pattern.DOTALL).matcher(element);
    return m.find() ? m.group(1) : "";
  }

  /** The object's content as the server stores it, or null when it answers 404. */
  public String get(String key) throws IOException {
    HttpResponse<String> r = send(HttpRequest.newBuilder(
        URI.create(endpoint() + "/" + bucket + "/" + key)).GET());
    return r.statusCode() == 404 ? null : r.body();
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) throws IOException {
    try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
      return http.send(request.timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  public String bucket() {
    return bucket;
  }

  public int port() {
    return port;
  }

  public Kind kind() {
    return kind;
  }

  /** Path-style endpoint: {@code http://127.0.0.1:PORT}. */
  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  /** Writes {@code text} to {@code file} (mode 600), like a mounted Kubernetes Secret. */
  public static Path writeSecret(Path file, String text) throws IOException {
    Files.writeString(file, text);
    try {
      Files.setPosixFilePermissions(file,
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException ignored) {
      // not a POSIX filesystem
    }
    return file;
  }

  private boolean answers() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
    } catch (IOException e) {
      return false;
    }
    try {
      // S3Mock's port accepts before the application is ready: wait for an S3 answer.
      int status = send(HttpRequest.newBuilder(URI.create(endpoint() + "/")).GET()).statusCode();
      return status < 500;
    } catch (IOException e) {
      return false;
    }
  }

  static Path findJar(Kind kind) {
    String env = System.getenv(kind.env);
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (Files.isRegularFile(p)) {
        return p;
      }
      throw new IllegalStateException(kind.env + "=" + env + " is not a file");
    }
    for (Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath(); dir != null;
        dir = dir.getParent()) {
      if (Files.exists(dir.resolve("mvnw")) && Files.isDirectory(dir.resolve("testkit"))) {
        Path p = dir.resolve("testkit/target/s3-servers").resolve(kind.jar);
        if (Files.isRegularFile(p)) {
          return p;
        }
        throw new IllegalStateException(kind + " is not at " + p + "; build testkit (./mvnw -pl"
            + " testkit generate-resources copies it from Maven Central) or set " + kind.env);
      }
    }
    throw new IllegalStateException("cannot find the repository root above "
        + System.getProperty("user.dir") + " to locate " + kind + "; set " + kind.env);
  }

  @Override
  public String toString() {
    return kind + "[" + endpoint() + ", bucket " + bucket + "]";
  }
}
