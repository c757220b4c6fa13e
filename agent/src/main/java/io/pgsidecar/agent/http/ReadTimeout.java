package io.pgsidecar.agent.http;

import java.lang.System.Logger.Level;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A bound on how long a client may take to <em>send</em> a request, per connection:
 * <ul>
 *   <li>waiting for a request head (a new connection, or a kept-alive one after its answer): the
 *       head must be complete within the timeout, else the connection is closed. A client that
 *       connects and sends half a header, or one byte now and then (slowloris), holds it no
 *       longer than that;</li>
 *   <li>reading a request body: the body must make progress; when no byte arrived for the
 *       timeout the request gets a 408 JSON problem (when not answered yet) and the connection is
 *       closed. A slow but moving body is fine;</li>
 *   <li>while the agent works on a complete request and writes its answer, nothing here
 *       applies: a push that waits a minute for slow storage, or a long WAL stream, is never
 *       cut. Those are bounded by the storage deadlines and the fetch's own write timeout.</li>
 * </ul>
 * Vert.x's {@code idleTimeout} is not used for this: it would also close a connection whose
 * client waits, silently, for a slow push to be acknowledged.
 *
 * <p>Each connection is checked by a periodic timer on its own event loop, so its state is only
 * ever touched from one thread.
 */
public final class ReadTimeout {

  /** The default: generous for any real client on a local socket, short for a held connection. */
  public static final Duration DEFAULT = Duration.ofSeconds(30);

  private static final System.Logger LOG = System.getLogger(ReadTimeout.class.getName());

  private final Vertx vertx;
  private final Duration timeout;
  private final String listener;
  private final Map<HttpConnection, Watch> watches = new ConcurrentHashMap<>();

  /**
   * @param listener named in log lines and in the 408 answer (the socket path)
   */
  public ReadTimeout(Vertx vertx, Duration timeout, String listener) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("read timeout must be positive: " + timeout);
    }
    this.vertx = vertx;
    this.timeout = timeout;
    this.listener = listener;
  }

  /** Watches every connection of {@code server}; requests then go on to {@code requests}. */
  public HttpServer install(HttpServer server, Handler<HttpServerRequest> requests) {
    return server.connectionHandler(this::connected).requestHandler(req -> {
      Watch w = watches.get(req.connection());
      if (w != null) {
        w.current = req;
      }
      requests.handle(req);
    });
  }

  private void connected(HttpConnection conn) {
    Watch w = new Watch(conn);
    watches.put(conn, w);
    long tick = Math.max(50, Math.min(1000, timeout.toMillis() / 10));
    w.timer = vertx.setPeriodic(tick, id -> w.check());
    conn.closeHandler(v -> {
      vertx.cancelTimer(w.timer);
      watches.remove(conn);
    });
  }

  /** {@code 30 s}, or {@code 500 ms} below a second. */
  static String describe(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  private enum State { AWAITING_HEAD, READING_BODY, ANSWERING }

  private final class Watch {
    final HttpConnection conn;
    long timer;
    HttpServerRequest current;
    HttpServerRequest seen;
    State state = State.AWAITING_HEAD;
    long bytes;
    long since = System.nanoTime();

    Watch(HttpConnection conn) {
      this.conn = conn;
    }

    void check() {
      HttpServerRequest req = current;
      State now = stateOf(req);
      long read = req == null ? 0 : req.bytesRead();
      if (req != seen || now != state || read != bytes) {
        seen = req;
        state = now;
        bytes = read;
        since = System.nanoTime();
        return;
      }
      if (now == State.ANSWERING || System.nanoTime() - since < timeout.toNanos()) {
        return;
      }
      vertx.cancelTimer(timer);
      if (now == State.AWAITING_HEAD) {
        LOG.log(Level.DEBUG, () -> "closing a connection to " + listener + " that sent no complete request"
            + " head within " + describe(timeout));
      } else {
        LOG.log(Level.INFO, "closing a connection to " + listener + ": the body of " + req.method() + " "
            + Refusals.cut(req.path()) + " stopped arriving (" + read + " bytes, none for "
            + describe(timeout) + ")");
        HttpServerResponse r = req.response();
        if (!r.headWritten() && !r.closed()) {
          r.putHeader("Connection", "close");
          Responses.json(r, 408, Map.of("error", "the body of " + req.method() + " "
              + Refusals.cut(req.path()) + " stopped arriving: " + read + " bytes received, none"
              + " for " + describe(timeout) + "; the agent closes the connection. Send the"
              + " whole body the Content-Length announces"));
        }
      }
      conn.close();
    }

    private State stateOf(HttpServerRequest req) {
      if (req == null || req.response().ended()) {
        return req != null && !req.isEnded() ? State.READING_BODY : State.AWAITING_HEAD;
      }
      return req.isEnded() ? State.ANSWERING : State.READING_BODY;
    }
  }
}
