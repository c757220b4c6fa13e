package io.pgsidecar.agent;

import io.pgsidecar.agent.http.Health;
import io.pgsidecar.agent.http.Responses;
import io.pgsidecar.agent.storage.Retry;
import io.pgsidecar.agent.wal.WalEvents;
import io.pgsidecar.agent.wal.fetch.PrefetchSpool;
import io.pgsidecar.agent.wal.fetch.WalFetchHandler;
import io.pgsidecar.agent.wal.fetch.WalFetchService;
import io.pgsidecar.agent.wal.push.ClusterGuard;
import io.pgsidecar.agent.wal.push.LookAhead;
import io.pgsidecar.agent.wal.push.SegmentUploader;
import io.pgsidecar.agent.wal.push.WalPushHandler;
import io.pgsidecar.agent.wal.push.WalPushService;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.RetryPolicy;
import io.pgsidecar.core.storage.Storage;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The sidecar daemon: one Vert.x HTTP server on the unix socket ({@code socket}, mode 0660) and
 * optionally one on 127.0.0.1 ({@code http.tcpPort}) that requires the bearer token from
 * {@code http.tokenFile}. Routes are thin adapters; every blocking step (files, storage, codecs)
 * runs on virtual threads, never on the event loop. WAL pushes get a virtual thread each, so no
 * other work (a base backup waiting for its last segment to be archived) can hold a thread a
 * push needs.
 *
 * <p>{@link #close()} shuts down gracefully: stop accepting, refuse new pushes with 503, let
 * pushes under way finish within {@code http.shutdownGrace}; a push that does not finish is
 * never acknowledged, so PostgreSQL keeps its {@code .ready} file and retries.
 */
public final class Agent implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(Agent.class.getName());

  private final PgsidecarConfig config;
  private final Vertx vertx;
  private final ExecutorService blocking =
      Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("agent-request-", 0).factory());
  private final WalPushService pushService;
  private final PrefetchSpool spool;
  private final Router router;
  private final List<HttpServer> servers = new ArrayList<>();
  private final Retry retry;
  private final Health health;
  private volatile boolean ready;
  private volatile int tcpPort = -1;

  public Agent(PgsidecarConfig config, Storage storage, CodecPipeline pipeline) {
    this(config, storage, pipeline, new VertxOptions(), WalEvents.NONE);
  }

  /** With explicit Vert.x options (tests lower {@code maxEventLoopExecuteTime} to catch blocking). */
  public Agent(PgsidecarConfig config, Storage storage, CodecPipeline pipeline, VertxOptions options) {
    this(config, storage, pipeline, options, WalEvents.NONE);
  }

  /**
   * The full constructor: {@code events} receives every WAL push/fetch outcome (the metrics).
   */
  public Agent(PgsidecarConfig config, Storage storage, CodecPipeline pipeline, VertxOptions options,
      WalEvents events) {
    this(config, storage, pipeline, options, events, RetryPolicy.GiveUps.NONE);
  }

  /** As above; pushes and fetches past their deadline are also reported to {@code giveUps}. */
  public Agent(PgsidecarConfig config, Storage storage, CodecPipeline pipeline, VertxOptions options,
      WalEvents events, RetryPolicy.GiveUps giveUps) {
    this.config = config;
    this.vertx = Vertx.builder().with(options).build();
    RepositoryLayout layout = new RepositoryLayout(config.storage().prefix(), config.cluster());
    this.retry = new Retry(config.storage().retry(), giveUps);
    PgsidecarConfig.Wal wal = config.wal();

    SegmentUploader uploader = new SegmentUploader(storage,
        pipeline.withCompressionLevel(wal.compressionLevel()), layout, retry);
    LookAhead lookAhead = new LookAhead(config.pgdata().resolve("pg_wal"), uploader,
        wal.lookaheadConcurrency(), wal.lookaheadMax(), events);
    ClusterGuard guard = new ClusterGuard(storage, layout, config.pgdata(), retry);
    this.pushService = new WalPushService(config.pgdata(), guard, uploader, lookAhead);

    this.spool = new PrefetchSpool(wal.spoolDir(), wal.spoolMaxBytes(), wal.prefetchCount(),
        config.storage().timeout());
    WalFetchService fetchService = WalFetchService.withSpool(storage, pipeline, layout,
        retry.forOperation(RetryPolicy.Operation.FETCH), spool);

    this.router = Router.router(vertx);
    this.health = new Health(() -> ready, blocking);
    WalPushHandler push = new WalPushHandler(pushService, blocking, config.cluster(), events);
    WalFetchHandler fetch = new WalFetchHandler(fetchService, blocking, config.storage().timeout(), events);
    router.get("/healthz").handler(health::healthz);
    router.get("/readyz").handler(health::readyz);
    // no file uploads: BodyHandler would otherwise create ./file-uploads, and the agent's working
    // directory may be read-only
    router.post("/v1/wal/push").handler(BodyHandler.create(false).setBodyLimit(64 * 1024))
        .handler(push::push);
    router.get("/v1/wal/:name").handler(fetch::fetch);
    router.route().last().handler(ctx -> Responses.json(ctx, 404,
        Map.of("error", "no route " + ctx.request().method() + " " + ctx.request().path())));
  }

  /** Routes so that other services (backups, dumps, status) can be added before {@link #start()}. */
  public Router router() {
    return router;
  }

  /** Liveness and readiness; add readiness checks (storage, PostgreSQL) before {@link #start()}. */
  public Health health() {
    return health;
  }

  /** The Vert.x instance the servers run on (the metrics port shares it). */
  public Vertx vertx() {
    return vertx;
  }

  /** The pool for blocking work of request handlers: a virtual thread per task. */
  public ExecutorService blockingExecutor() {
    return blocking;
  }

  /** Listens on the socket (and TCP when configured); returns once both accept connections. */
  public void start() throws IOException {
    spool.cleanAtStart();
    Path socket = config.socket();
    Files.createDirectories(socket.toAbsolutePath().getParent());
    // a SIGKILLed agent leaves its socket file behind and binding would fail "Address in use"
    Files.deleteIfExists(socket);
    HttpServer unix = vertx.createHttpServer(new HttpServerOptions()).requestHandler(router);
    await(unix.listen(SocketAddress.domainSocketAddress(socket.toString())), "listen on " + socket);
    servers.add(unix);
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
    LOG.info("agent listening on unix socket " + socket);

    Optional<Integer> port = config.http().tcpPort();
    if (port.isPresent()) {
      byte[] token = readToken();
      HttpServer tcp = vertx.createHttpServer(new HttpServerOptions())
          .requestHandler(req -> authorized(req, token));
      HttpServer bound = await(tcp.listen(port.get(), "127.0.0.1"), "listen on 127.0.0.1:" + port.get());
      servers.add(tcp);
      tcpPort = bound.actualPort();
      LOG.info("agent listening on 127.0.0.1:" + tcpPort + " (bearer token required)");
    }
    ready = true;
  }

  /** The TCP port actually bound (for {@code http.tcpPort: 0}), or -1 without TCP. */
  public int tcpPort() {
    return tcpPort;
  }

  private void authorized(HttpServerRequest req, byte[] token) {
    String auth = req.getHeader("Authorization");
    byte[] given = auth != null && auth.startsWith("Bearer ")
        ? auth.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
    if (MessageDigest.isEqual(given, token)) {
      router.handle(req);
      return;
    }
    req.response().setStatusCode(401).putHeader("WWW-Authenticate", "Bearer")
        .putHeader("Content-Type", "application/json")
        .end("{\"error\":\"missing or wrong bearer token: send 'Authorization: Bearer <token from"
            + " http.tokenFile>'\"}\n");
  }

  private byte[] readToken() throws IOException {
    Path file = config.http().tokenFile().orElseThrow(() -> new IOException("http.tcpPort is set"
        + " but http.tokenFile is not: the TCP listener needs a bearer token; set http.tokenFile"
        + " to a file holding it"));
    String token = Files.readString(file).trim();
    if (token.length() < 16) {
      throw new IOException("the bearer token in " + file + " is shorter than 16 characters;"
          + " put a long random token there (e.g. openssl rand -hex 32)");
    }
    return token.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Graceful shutdown: refuse new work, stop accepting, let pushes under way finish within
   * {@code http.shutdownGrace}, then stop Vert.x and remove the socket.
   */
  @Override
  public void close() {
    ready = false;
    pushService.beginShutdown();
    Duration grace = config.http().shutdownGrace();
    long deadline = System.nanoTime() + grace.toNanos();
    for (HttpServer s : servers) {
      try {
        await(s.shutdown(grace), "shut down the HTTP server");
      } catch (IOException e) {
        LOG.warning(e.getMessage());
      }
    }
    try {
      Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
      if (!pushService.awaitIdle(left)) {
        LOG.warning(pushService.activePushes() + " WAL push(es) did not finish within"
            + " http.shutdownGrace=" + grace + "; they were not acknowledged and PostgreSQL will"
            + " retry them");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    spool.close();
    blocking.shutdownNow();
    retry.close();
    try {
      await(vertx.close(), "stop Vert.x");
      Files.deleteIfExists(config.socket());
    } catch (IOException e) {
      LOG.warning(e.getMessage());
    }
    LOG.info("agent stopped (" + (System.nanoTime() - (deadline - grace.toNanos())) / 1_000_000 + " ms)");
  }

  private static <T> T await(Future<T> f, String what) throws IOException {
    try {
      return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(what + ": interrupted");
    } catch (Exception e) {
      Throwable c = e.getCause() == null ? e : e.getCause();
      throw new IOException("cannot " + what + ": " + c.getMessage(), c);
    }
  }
}
