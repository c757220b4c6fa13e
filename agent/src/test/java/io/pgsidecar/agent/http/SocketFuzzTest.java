package io.pgsidecar.agent.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Sidecar;
import io.pgsidecar.agent.http.Requests.Request;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.factory.StorageFactory;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded fuzzing of the real agent's hook and admin sockets with raw bytes: random and mutated
 * request lines, methods, paths ({@code ..}, %-escapes, NUL, very long, unicode), headers (two
 * Content-Lengths, chunked with a length, huge values, broken lines) and bodies (truncated,
 * oversize, chunked, random). The properties, after every batch:
 * <ol>
 *   <li>the agent stays up: {@code /healthz} on the hook socket and {@code /v1/status} on the admin
 *       socket answer 200 with JSON;</li>
 *   <li>every exchange ends within {@link #HANG}: a complete answer, or the agent closes the
 *       connection (only a request that never became complete may go unanswered);</li>
 *   <li>every answer is a well-formed HTTP/1.x response framed by its Content-Length, and every
 *       4xx/5xx carries a JSON object with an {@code error} text (a not-ready {@code /readyz}
 *       its report; a HEAD no body; the one exception: Vert.x's bare 501 for a request line whose
 *       version is not HTTP/1.0 or 1.1);</li>
 *   <li>nothing is written outside the repository, spool, socket and PGDATA paths: a sentinel
 *       directory and PGDATA are byte-identical afterwards, and the working directory has no new
 *       entries;</li>
 *   <li>no request on the hook socket reaches the admin router, and the repository holds no base
 *       backup or dump.</li>
 * </ol>
 * The seed comes from {@code -Dpgsidecar.fuzz.seed} (fixed default); the seed and each failing
 * input are printed. {@code -Dpgsidecar.fuzz.batches} changes the number of batches.
 */
class SocketFuzzTest {

  static final long SEED = Long.getLong("pgsidecar.fuzz.seed", 0x5EED_50CCL);
  static final int BATCHES = Integer.getInteger("pgsidecar.fuzz.batches", 24);
  static final int PER_BATCH = 90;
  /** The read timeout of the agent under test (30 s by default): half-sent requests end fast. */
  static final Duration READ_TIMEOUT = Duration.ofMillis(500);
  /** An exchange not over by then is a hang. */
  static final Duration HANG = Duration.ofSeconds(8);

  static final List<String> SEGMENTS = List.of("000000010000000000000001",
      "000000010000000000000002", "000000010000000000000003");

  @TempDir Path work;
  PgsidecarConfig config;
  Storage storage;
  Sidecar sidecar;
  final AtomicLong adminRouted = new AtomicLong();

  @BeforeEach
  void start() throws Exception {
    FakePgdata pg = new FakePgdata(work.resolve("pgdata"), 7L);
    for (int i = 0; i < SEGMENTS.size(); i++) {
      pg.readyWal(SEGMENTS.get(i), 16 * 1024, i);
    }
    PgsidecarConfig base = TestConfig.of(pg.root(), work);
    int nobody;
    try (ServerSocket s = new ServerSocket(0)) {
      nobody = s.getLocalPort(); // no PostgreSQL: backups and dumps the fuzz starts fail fast
    }
    config = new PgsidecarConfig(base.cluster(), base.pgdata(), base.socket(), base.http(),
        new PgsidecarConfig.Postgres("127.0.0.1", nobody, "postgres", "postgres", Optional.empty(),
            base.postgres().binDir()),
        base.storage(), base.compression(), base.encryption(), base.wal(), base.backup(),
        base.dump(), new PgsidecarConfig.Metrics(0, "127.0.0.1"), base.schedule());
    Files.createDirectories(work.resolve("repo"));
    storage = StorageFactory.open(config.storage());
    sidecar = new Sidecar(config, storage, Pipelines.forConfig(config.compression(),
        config.encryption()), new AgentMetrics("db1"), new VertxOptions());
    sidecar.agent().readTimeout(READ_TIMEOUT);
    sidecar.agent().router().route().order(Integer.MIN_VALUE).handler(ctx -> {
      adminRouted.incrementAndGet();
      ctx.next();
    });
    sidecar.start();
    // one real push: the repository gets its cluster.json, so fetches reach real objects
    String push = "{\"path\":\"pg_wal/" + SEGMENTS.get(0) + "\"}";
    Exchange first = exchange(config.socket(), ("POST /v1/wal/push HTTP/1.1\r\nHost: agent\r\n"
        + "Connection: close\r\nContent-Type: application/json\r\nContent-Length: "
        + push.length() + "\r\n\r\n" + push).getBytes(StandardCharsets.US_ASCII));
    assertEquals(200, Parsed.parse(first.raw(), false).status(), new String(first.raw(),
        StandardCharsets.ISO_8859_1));

    Path sentinel = Files.createDirectories(work.resolve("sentinel/sub"));
    Files.writeString(work.resolve("sentinel/passwd"), "root:x:0:0::/root:/bin/sh\n");
    Files.write(sentinel.resolve("000000010000000000000009"), new byte[8192]);
    Files.createSymbolicLink(work.resolve("sentinel/link"), Path.of("passwd"));
  }

  @AfterEach
  void stop() throws Exception {
    sidecar.close();
    storage.close();
  }

  @Test
  void theSocketsSurviveThousandsOfBadRequests() throws Exception {
    System.out.println("SocketFuzzTest seed=" + SEED + " (rerun: -Dpgsidecar.fuzz.seed=" + SEED
        + "), " + BATCHES + " batches of " + PER_BATCH + " per socket");
    Map<String, String> before = snapshot();
    List<String> cwdBefore = listing(Path.of("").toAbsolutePath());
    Random seeds = new Random(SEED);
    List<String> failures = new ArrayList<>();
    Map<String, Integer> outcomes = new TreeMap<>();
    long t0 = System.nanoTime();
    int sent = 0;
    try (ExecutorService clients = Executors.newFixedThreadPool(16)) {
      for (int batch = 0; batch < BATCHES && failures.size() < 20; batch++) {
        for (boolean hook : new boolean[] {true, false}) {
          Path socket = hook ? config.socket() : config.adminSocket();
          long adminBefore = adminRouted.get();
          long backupsAndDumps = backupsAndDumps();
          List<Future<String>> results = new ArrayList<>();
          for (int i = 0; i < PER_BATCH; i++) {
            long caseSeed = seeds.nextLong();
            String where = (hook ? "hook" : "admin") + " batch " + batch + " case " + i
                + " (case seed " + caseSeed + ")";
            results.add(clients.submit(() -> runCase(socket, caseSeed, where, outcomes)));
            sent++;
          }
          for (Future<String> f : results) {
            String failure = f.get(2 * HANG.toMillis(), TimeUnit.MILLISECONDS);
            if (failure != null) {
              failures.add(failure);
              System.out.println("FAILED " + failure);
            }
          }
          if (hook && adminRouted.get() != adminBefore) {
            failures.add("batch " + batch + ": " + (adminRouted.get() - adminBefore)
                + " request(s) on the hook socket reached the admin router");
          }
          if (hook && backupsAndDumps() != backupsAndDumps) {
            failures.add("batch " + batch + ": the hook socket's requests changed base backups or"
                + " dumps in the repository");
          }
          alive(batch, failures);
        }
      }
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("SocketFuzzTest: " + sent + " requests in " + ms + " ms; outcomes " + outcomes);

    assertEquals(before, snapshot(), "files outside the agent's paths changed");
    assertEquals(cwdBefore, listing(Path.of("").toAbsolutePath()), "the working directory changed");
    assertTrue(failures.isEmpty(), failures.size() + " failure(s), seed " + SEED + ":\n"
        + String.join("\n", failures));
    assertTrue(sent >= 4000, sent + " requests");
  }

  long backupsAndDumps() throws IOException {
    try (Stream<?> backups = storage.list(config.storage().prefix() + "/db1/base/");
        Stream<?> dumps = storage.list(config.storage().prefix() + "/db1/dumps/")) {
      return backups.count() + dumps.count();
    }
  }

  /** One exchange; null when every property holds, else what failed with the input. */
  String runCase(Path socket, long caseSeed, String where, Map<String, Integer> outcomes) {
    Random r = new Random(caseSeed);
    Request req = Requests.any(r);
    Exchange x;
    try {
      x = exchange(socket, req.bytes());
    } catch (IOException e) {
      return where + ": the socket refused the connection: " + e + "\n  input: " + req.show();
    }
    String problem = check(req, x);
    synchronized (outcomes) {
      outcomes.merge(x.outcome(), 1, Integer::sum);
    }
    return problem == null ? null : where + ": " + problem + "\n  input (" + req.kind() + "): "
        + req.show() + "\n  answer: " + Requests.printable(x.raw(), 600);
  }

  static String check(Request req, Exchange x) {
    if (!x.over()) {
      return "no answer and the connection still open after " + HANG.toSeconds() + " s";
    }
    if (x.raw().length == 0) {
      return req.complete() ? "closed without an answer to a complete request" : null;
    }
    Parsed p = Parsed.parse(x.raw(), req.head());
    if (p == null) {
      return "not a well-formed HTTP/1.x response";
    }
    if (!p.version().equals("HTTP/1.1") && !p.version().equals("HTTP/1.0")
        && Requests.supportedVersion(req.bytes())) {
      return "answered as " + p.version();
    }
    if (p.status() < 400) {
      return null;
    }
    if (p.status() == 501 && p.body().length == 0 && !Requests.supportedVersion(req.bytes())) {
      return null; // Vert.x's own, before any handler (see SocketRefusalsTest)
    }
    if (req.head()) {
      return null;
    }
    if (!"application/json".equals(p.headers().get("content-type"))) {
      return p.status() + " without a JSON body";
    }
    try {
      JsonObject body = new JsonObject(new String(p.body(), StandardCharsets.UTF_8));
      String error = body.getString("error");
      boolean report = p.status() == 503 && body.getString("status") != null;
      if ((error == null || error.isBlank()) && !report) {
        return p.status() + " whose JSON has no error text";
      }
    } catch (RuntimeException e) {
      return p.status() + " with a body that is not a JSON object: " + e.getMessage();
    }
    return null;
  }

  void alive(int batch, List<String> failures) throws IOException {
    Parsed health = Parsed.parse(exchange(config.socket(),
        "GET /healthz HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII)).raw(), false);
    Parsed status = Parsed.parse(exchange(config.adminSocket(),
        "GET /v1/status HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII)).raw(), false);
    if (health == null || health.status() != 200 || status == null || status.status() != 200
        || !"db1".equals(new JsonObject(new String(status.body(), StandardCharsets.UTF_8))
            .getString("cluster"))) {
      failures.add("after batch " + batch + " the agent is not up: /healthz "
          + (health == null ? "no answer" : health.status()) + ", /v1/status "
          + (status == null ? "no answer" : status.status()));
    }
  }

  // ---- the client side: raw bytes in, everything until the first complete answer or close out

  record Exchange(byte[] raw, boolean closed, boolean answered) {
    boolean over() {
      return closed || answered;
    }

    String outcome() {
      if (raw.length == 0) {
        return closed ? "closed" : "hang";
      }
      Parsed p = Parsed.parse(raw, false);
      return p == null ? "garbage" : Integer.toString(p.status());
    }
  }

  static Exchange exchange(Path socket, byte[] request) throws IOException {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      ch.configureBlocking(false);
      ByteBuffer out = ByteBuffer.wrap(request);
      ByteBuffer in = ByteBuffer.allocate(64 * 1024);
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      long deadline = System.nanoTime() + HANG.toNanos();
      while (System.nanoTime() < deadline) {
        boolean idle = true;
        if (out.hasRemaining()) {
          try {
            idle = ch.write(out) == 0;
          } catch (IOException closedWhileSending) {
            out.position(out.limit()); // the agent refused before the end: read its answer
          }
        }
        int n;
        try {
          n = ch.read(in);
        } catch (IOException reset) {
          n = -1;
        }
        if (n < 0) {
          return new Exchange(got.toByteArray(), true, false);
        }
        if (n > 0) {
          idle = false;
          got.write(in.array(), 0, in.position());
          in.clear();
          if (Parsed.parse(got.toByteArray(), false) != null && Parsed.complete(got.toByteArray())) {
            return new Exchange(got.toByteArray(), false, true);
          }
        }
        if (idle) {
          sleep(2);
        }
      }
      return new Exchange(got.toByteArray(), false, false);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A response after any 1xx: status, lower-cased headers, the body its Content-Length frames. */
  record Parsed(String version, int status, Map<String, String> headers, byte[] body) {

    /** Whether a final response with its whole Content-Length body has arrived. */
    static boolean complete(byte[] raw) {
      return parse(raw, false) != null;
    }

    static Parsed parse(byte[] raw, boolean head) {
      int at = 0;
      while (true) {
        int end = indexOf(raw, at);
        if (end < 0) {
          return null;
        }
        String[] lines = new String(raw, at, end - at, StandardCharsets.ISO_8859_1).split("\r\n");
        String[] sl = lines[0].split(" ", 3);
        // Vert.x answers in the request's version, whatever it was ("HTTPS/1.1", "HTTP/11.1"):
        // any visible token here, and check() insists on HTTP/1.x for an HTTP/1.x request
        if (sl.length < 2 || !sl[0].matches("[^ \\r\\n]+/[0-9]+\\.[0-9]+") || !sl[1].matches("[1-5][0-9][0-9]")) {
          return null;
        }
        int status = Integer.parseInt(sl[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
          int c = lines[i].indexOf(':');
          if (c <= 0) {
            return null;
          }
          headers.merge(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT),
              lines[i].substring(c + 1).trim(), (a, b) -> a + ", " + b);
        }
        if (status < 200) {
          at = end + 4; // interim (100 Continue): the final answer follows
          continue;
        }
        String length = headers.get("content-length");
        int from = end + 4;
        if (head) {
          return new Parsed(sl[0], status, headers, new byte[0]); // no body, maybe no length
        }
        if (length == null || !length.matches("[0-9]{1,9}")) {
          return null; // the agent frames every answer by its length
        }
        int len = Integer.parseInt(length);
        if (from + len > raw.length) {
          return null;
        }
        return new Parsed(sl[0], status, headers, java.util.Arrays.copyOfRange(raw, from, from + len));
      }
    }

    private static int indexOf(byte[] raw, int from) {
      for (int i = from; i + 3 < raw.length; i++) {
        if (raw[i] == '\r' && raw[i + 1] == '\n' && raw[i + 2] == '\r' && raw[i + 3] == '\n') {
          return i;
        }
      }
      return -1;
    }
  }

  // ---- what must not change

  /** Every file under the work directory but the agent's own paths, with its SHA-256. */
  Map<String, String> snapshot() throws IOException {
    Map<String, String> out = new TreeMap<>();
    List<Path> own = List.of(work.resolve("repo"), work.resolve("spool"), work.resolve("run"));
    try (Stream<Path> all = Files.walk(work)) {
      for (Path p : all.toList()) {
        if (own.stream().anyMatch(p::startsWith)) {
          continue;
        }
        String key = work.relativize(p).toString();
        if (Files.isSymbolicLink(p)) {
          out.put(key, "-> " + Files.readSymbolicLink(p));
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          out.put(key, sha256(Files.readAllBytes(p)));
        } else {
          out.put(key, "dir");
        }
      }
    }
    return out;
  }

  static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
