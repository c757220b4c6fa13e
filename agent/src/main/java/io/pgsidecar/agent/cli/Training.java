package io.pgsidecar.agent.cli;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The training run behind {@code bin/pgsidecar prepare-cache}: the JVM records the classes it
 * loads here into a class-data archive (JDK 25 {@code -XX:AOTCacheOutput}, a dynamic CDS archive
 * on JDK 21-24), so that later starts of the CLI and the agent skip loading and linking them
 * (about 2 s of a restore went to JVM and Azure SDK start-up before the first byte). It runs, in
 * a temp dir it deletes: {@code --help}; {@code wal list} and {@code restore} of a tiny
 * zstd + OpenPGP backup from a filesystem repository and from a throw-away Azure endpoint
 * ({@link TrainingBlobs}) through the real Azure SDK; {@code backup list} with no agent to answer;
 * and a Vert.x HTTP server start and stop.
 * Exit 0 when every step gave the expected result.
 */
public final class Training {

  private static final String CLUSTER = "training";
  private static final String BACKUP = "20260101T000000Z";
  private static final String SEGMENT = "000000010000000000000003";
  /** Azurite's published development key: the endpoint is a loopback stub, not Azure. */
  private static final String DEV_KEY =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

  private Training() {}

  public static void main(String[] args) throws Exception {
    Thread watchdog = Thread.ofPlatform().daemon(true).start(Training::watchdog);
    Path dir = Files.createTempDirectory("pgsidecar-training");
    List<String> failures = new ArrayList<>();
    try (var blobs = new TrainingBlobs("training")) {
      Files.writeString(dir.resolve("passphrase"), "training passphrase\n");
      Path repo = Files.createDirectory(dir.resolve("repo"));
      Path fsConfig = config(dir, "fs.yaml", "storage:\n  type: fs\n  path: " + repo + "\n");
      Path azConfig = config(dir, "azure.yaml", "storage:\n  type: azure\n  retries: 0\n"
          + "  azure:\n    auth: connection-string\n    container: training\n");
      Map<String, String> azEnv = Map.of("PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING",
          "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + DEV_KEY
              + ";BlobEndpoint=" + blobs.endpoint() + ";");
      Map<String, byte[]> objects = backup(dir.resolve("passphrase"));
      try (var fs = new FsStorage(repo)) {
        for (var o : objects.entrySet()) {
          byte[] b = o.getValue();
          fs.create(o.getKey(), new ByteArrayInputStream(b), () -> new ObjectMetadata("", b.length, "", ""));
          blobs.put(o.getKey(), b);
        }
      }
      expect(failures, 0, Map.of(), "--help");
      expect(failures, 0, Map.of(), "wal", "list", "--config", fsConfig.toString());
      expect(failures, 3, Map.of("PGSIDECAR_HTTP_ADMIN_SOCKET", dir.resolve("no-agent.sock").toString()),
          "backup", "list", "--config", fsConfig.toString()); // the agent client, no agent
      expect(failures, 0, Map.of(), "restore", "--config", fsConfig.toString(),
          "--to", dir.resolve("pgdata-fs").toString());
      expect(failures, 0, azEnv, "wal", "list", "--config", azConfig.toString());
      expect(failures, 0, azEnv, "restore", "--config", azConfig.toString(),
          "--to", dir.resolve("pgdata-azure").toString());
      expect(failures, 1, azEnv, "restore", "--config", azConfig.toString(),
          "--backup", "20250101T000000Z", "--to", dir.resolve("pgdata-none").toString());
      // TLS: a handshake with a port that answers plain HTTP fails at once (storage unavailable,
      // exit 3), after loading the TLS classes every real Azure request needs (the JDK's and the
      // SDK's HTTP client's).
      try (var plain = new java.net.ServerSocket(0, 4, java.net.InetAddress.getLoopbackAddress())) {
        Thread.ofPlatform().daemon(true).start(() -> answerPlainHttp(plain));
        expect(failures, 3, Map.of("PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING",
            "DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=" + DEV_KEY
                + ";BlobEndpoint=https://127.0.0.1:" + plain.getLocalPort() + "/devstoreaccount1;"),
            "wal", "list", "--config", azConfig.toString());
      }
      vertx(failures);
    } catch (Exception e) {
      failures.add(e.toString());
    } finally {
      delete(dir);
    }
    watchdog.interrupt();
    failures.forEach(f -> System.err.println("pgsidecar training: " + f));
    System.exit(failures.isEmpty() ? 0 : 1);
  }

  private static Path config(Path dir, String name, String storage) throws IOException {
    return Files.writeString(dir.resolve(name), "cluster: " + CLUSTER + "\n" + storage
        + "compression:\n  level: 3\nencryption:\n  passphrase-file: " + dir.resolve("passphrase")
        + "\nrestore:\n  wal-archiver: /bin/false\n");
  }

  /** A complete backup (data, backup.json) and the WAL segment it needs, keyed as stored. */
  private static Map<String, byte[]> backup(Path passphrase) throws IOException {
    CodecPipeline pipeline = Pipelines.forConfig(new PgsidecarConfig.Compression("zstd", 3, 0),
        new PgsidecarConfig.Encryption(List.of(), Optional.of(passphrase), List.of(), Optional.empty()));
    var layout = new RepositoryLayout("", CLUSTER);
    byte[] tar = TinyTar.of(Map.of("PG_VERSION", "15\n", "base/1/1259", "x".repeat(20_000)));
    byte[] stored = encode(pipeline, tar);
    byte[] segment = encode(pipeline, new byte[8192]);
    Instant stop = Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
    String dataKey = layout.baseData(BACKUP, pipeline.suffix());
    var manifest = new BackupManifest(1, BACKUP, "", CLUSTER, "7312345678901234567", 150010, 1,
        "0/3000028", "0/3000100", stop.minusSeconds(3), stop, tar.length, stored.length,
        sha256(stored), sha256(tar), pipeline.name(), pipeline.keyFingerprint(), dataKey,
        "training", SEGMENT, SEGMENT);
    return Map.of(dataKey, stored, layout.baseManifest(BACKUP), manifest.toJson(),
        layout.walKey(SEGMENT, pipeline.suffix()), segment);
  }

  private static byte[] encode(CodecPipeline pipeline, byte[] plain) throws IOException {
    var out = new ByteArrayOutputStream();
    try (OutputStream enc = pipeline.encode(out)) {
      enc.write(plain);
    }
    return out.toByteArray();
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK has no SHA-256", e);
    }
  }

  private static void expect(List<String> failures, int code, Map<String, String> env,
      String... args) {
    var out = new java.io.StringWriter();
    int got = Main.execute(args, env, new PrintWriter(out), new PrintWriter(out));
    if (got != code) {
      failures.add(String.join(" ", args) + ": exit " + got + " instead of " + code + ": " + out);
    }
  }

  private static void answerPlainHttp(java.net.ServerSocket server) {
    while (!server.isClosed()) {
      try (var c = server.accept()) {
        c.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
      } catch (IOException e) {
        // closed at the end of training, or the client hung up: both fine
      }
    }
  }

  /** Starts and stops Vert.x with an HTTP server and a router, as the agent does. */
  private static void vertx(List<String> failures) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      Router router = Router.router(vertx);
      router.get("/healthz").handler(rc -> rc.response().end("ok"));
      vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
          .requestHandler(router).listen().toCompletionStage().toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      failures.add("vert.x: " + e);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Ends a training run that hangs, so that prepare-cache fails instead of waiting. */
  private static void watchdog() {
    try {
      Thread.sleep(120_000);
    } catch (InterruptedException e) {
      return;
    }
    System.err.println("pgsidecar training: no result after 120 s, giving up");
    Runtime.getRuntime().halt(1);
  }

  /** The smallest ustar archive TarExtractor accepts: regular files, then two zero blocks. */
  private static final class TinyTar {
    static byte[] of(Map<String, String> files) {
      var out = new ByteArrayOutputStream();
      new java.util.TreeMap<>(files).forEach((name, content) -> {
        byte[] body = content.getBytes(StandardCharsets.UTF_8);
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000600");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", body.length));
        put(h, 136, "00000000000");
        h[156] = '0';
        put(h, 257, "ustar");
        put(h, 263, "00");
        java.util.Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte x : h) {
          sum += x & 0xff;
        }
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        out.writeBytes(h);
        out.writeBytes(body);
        out.writeBytes(new byte[(512 - body.length % 512) % 512]);
      });
      out.writeBytes(new byte[1024]);
      return out.toByteArray();
    }

    private static void put(byte[] h, int off, String s) {
      byte[] b = s.getBytes(StandardCharsets.US_ASCII);
      System.arraycopy(b, 0, h, off, b.length);
    }
  }
}
