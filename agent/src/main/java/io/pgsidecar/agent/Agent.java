package io.pgsidecar.agent;

import java.lang.System.Logger.Level;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.http.Health;
import io.pgsidecar.agent.http.HookRoutes;
import io.pgsidecar.agent.http.ReadTimeout;
import io.pgsidecar.agent.http.Refusals;
import io.pgsidecar.agent.http.SocketAccess;
import io.pgsidecar.agent.storage.Retry;
import io.pgsidecar.agent.wal.archive.WalEvents;
import io.pgsidecar.agent.wal.WalFeature;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.ConfigException;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.RetryPolicy;
import io.pgsidecar.core.storage.Storage;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The sidecar daemon, on two unix sockets and optionally TCP, all served by one Vert.x instance:
 * <ul>
 *   <li>the <b>hook socket</b> ({@code socket}, group {@code http.socket-group}, mode
 *       {@code http.socket-mode}): what PostgreSQL's archive_command and restore_command need and
 *       nothing else: {@code POST /v1/wal/push} into this cluster, {@code GET /v1/wal/{name}} of
 *       this cluster or of {@code restore.from-cluster}, {@code /healthz}, {@code /readyz}. Every
 *       other {@code /v1/} request is refused with 403 naming the route and the admin socket
 *       ({@link HookRoutes});</li>
 *   <li>the <b>admin socket</b> ({@code http.admin-socket}, mode 0600, owned by the agent's user):
 *       every route, backups, dumps, status and WAL of any cluster; the {@code pgsidecar} CLI
 *       uses it;</li>
 *   <li>optionally 127.0.0.1:{@code http.tcp-port}, the admin routes behind the bearer token from
 *       {@code http.token-file}.</li>
 * </ul>
 * Routes are thin adapters; every blocking step (files, storage, codecs) runs on virtual threads,
 * never on the event loop. WAL pushes get a virtual thread each, so no other work (a base backup
 * waiting for its last segment to be archived) can hold a thread a push needs.
 *
 * <p>{@link #close()} shuts down gracefully: stop accepting, refuse new pushes with 503, let
 * pushes under way finish within {@code http.shutdown-grace}; a push that does not finish is
 * never acknowledged, so PostgreSQL keeps its {@code .ready} file and retries.
 */
public final class Agent implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(Agent.class.getName());

  private final PgsidecarConfig config;
  private final Vertx vertx;
  private final ExecutorService blocking =
      Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("agent-request-", 0).factory());
  private final WalFeature.Wal wal;
  private final Router router;
  private final Router hookRouter;
  private final List<HttpServer> servers = new ArrayList<>();
  private final Retry retry;
  private final Health health;
  private volatile boolean ready;
  private volatile int tcpPort = -1;
  private Duration readTimeout = ReadTimeout.DEFAULT;

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
    this.retry = new Retry(config.storage().retry(), giveUps);
    this.wal = WalFeature.wire(config, storage, pipeline, retry, events);

    this.router = Router.router(vertx);
    this.health = new Health(() -> ready, blocking);
    router.get("/healthz").handler(health::healthz);
    router.get("/readyz").handler(health::readyz);
    wal.adminRoutes(router, new Blocking(blocking));
    // no route (404), another method (405), bad path (400)...: JSON problems, see Refusals
    Refusals.register(router);

    this.hookRouter = Router.router(vertx);
    new HookRoutes(config).register(hookRouter, health, wal.pushRoute()::push,
        wal.fetchRoute()::fetch);
    Refusals.register(hookRouter);
  }

  /**
   * The admin routes (admin socket and TCP), so that other services (backups, dumps, status) can
   * be added before {@link #start()}. The hook socket never serves what is added here.
   */
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

  /**
   * How long a client may take to send a request head, or stall a request body, before its
   * connection is closed ({@link ReadTimeout}; default 30 s). Set before {@link #start()}.
   */
  public Agent readTimeout(Duration timeout) {
    this.readTimeout = timeout;
    return this;
  }

  /** The pool for blocking work of request handlers: a virtual thread per task. */
  public ExecutorService blockingExecutor() {
    return blocking;
  }

  /**
   * Listens on the hook socket, the admin socket (and TCP when configured); returns once all
   * accept connections. A socket group that does not exist stops here with a
   * {@link ConfigException} (exit code 2) before anything listens; one the agent may not give the
   * socket to stops it the same way right after binding, before it is ready.
   */
  public void start() throws IOException {
    SocketAccess hookAccess = SocketAccess.forHookSocket(config);
    wal.prepare();
    listen(config.socket(), hookRouter, hookAccess);
    LOG.log(Level.INFO, "agent listening on hook socket " + config.socket() + " (" + hookAccess + ";"
        + " WAL push and fetch only)");
    if (config.adminSocket().toAbsolutePath().getParent()
        .equals(config.socket().toAbsolutePath().getParent())) {
      LOG.log(Level.WARNING, "the admin socket " + config.adminSocket() + " is in the hook socket's directory:"
          + " a process that shares the agent's uid and sees that directory (PostgreSQL's container"
          + " in a pod where both run as one uid) can create and delete backups; set"
          + " http.admin-socket to a directory only the agent's container mounts");
    }
    listen(config.adminSocket(), router, SocketAccess.ADMIN);
    LOG.log(Level.INFO, "agent listening on admin socket " + config.adminSocket() + " (" + SocketAccess.ADMIN + ")");

    Optional<Integer> port = config.http().tcpPort();
    if (port.isPresent()) {
      byte[] token = readToken();
      HttpServer tcp = server("127.0.0.1:" + port.get(), req -> authorized(req, token));
      HttpServer bound = await(tcp.listen(port.get(), "127.0.0.1"), "listen on 127.0.0.1:" + port.get());
      servers.add(tcp);
      tcpPort = bound.actualPort();
      LOG.log(Level.INFO, "agent listening on 127.0.0.1:" + tcpPort + " (bearer token required; admin routes)");
    }
    ready = true;
  }

  private void listen(Path socket, Router routes, SocketAccess access) throws IOException {
    try {
      Files.createDirectories(socket.toAbsolutePath().getParent());
    } catch (IOException e) {
      throw new IOException("cannot create the directory of the socket " + socket + " (" + e + ");"
          + " set " + (socket.equals(config.socket()) ? "socket" : "http.admin-socket")
          + " to a path in a directory the agent may write", e);
    }
    // a SIGKILLed agent leaves its socket file behind and binding would fail "Address in use"
    Files.deleteIfExists(socket);
    HttpServer unix = server(socket.toString(), routes);
    await(unix.listen(SocketAddress.domainSocketAddress(socket.toString())), "listen on " + socket);
    servers.add(unix);
    access.applyTo(socket);
  }

  /**
   * A server with the agent's protocol settings: HTTP/1.x only (no h2c upgrade: no client of
   * the agent speaks HTTP/2), Vert.x's own refusals as JSON problems, and the read timeout.
   */
  private HttpServer server(String listener, Handler<HttpServerRequest> requests) {
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false))
        .invalidRequestHandler(Refusals::invalidRequest);
    return new ReadTimeout(vertx, readTimeout, listener).install(server,
        Refusals.answeringBrokenBodies(requests));
  }

  /** The TCP port actually bound (for {@code http.tcp-port: 0}), or -1 without TCP. */
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
            + " http.token-file>'\"}\n");
  }

  private byte[] readToken() throws IOException {
    Path file = config.http().tokenFile().orElseThrow(() -> new IOException("http.tcp-port is set"
        + " but http.token-file is not: the TCP listener needs a bearer token; set http.token-file"
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
   * {@code http.shutdown-grace}, then stop Vert.x and remove the socket.
   */
  @Override
  public void close() {
    ready = false;
    wal.beginShutdown();
    Duration grace = config.http().shutdownGrace();
    long deadline = System.nanoTime() + grace.toNanos();
    for (HttpServer s : servers) {
      try {
        await(s.shutdown(grace), "shut down the HTTP server");
      } catch (IOException e) {
        LOG.log(Level.WARNING, e.getMessage());
      }
    }
    try {
      Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
      wal.awaitPushes(left, grace);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    wal.close();
    blocking.shutdownNow();
    retry.close();
    try {
      await(vertx.close(), "stop Vert.x");
      Files.deleteIfExists(config.socket());
      Files.deleteIfExists(config.adminSocket());
    } catch (IOException e) {
      LOG.log(Level.WARNING, e.getMessage());
    }
    LOG.log(Level.INFO, "agent stopped (" + (System.nanoTime() - (deadline - grace.toNanos())) / 1_000_000 + " ms)");
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
