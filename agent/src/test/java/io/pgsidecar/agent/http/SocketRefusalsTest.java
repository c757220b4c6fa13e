package io.pgsidecar.agent.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Sidecar;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.RawHttp;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.MemoryStorage;
import io.vertx.core.VertxOptions;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every refusal Vert.x makes by itself, on the real agent's two unix sockets, sent as raw bytes:
 * the same JSON problem body ({@code {"error": ...}}) as the agent's own routes, never Vert.x's
 * bare status or plain text; and where the rest of the connection cannot be trusted, the agent
 * closes it right after the answer.
 */
class SocketRefusalsTest {

  static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir Path work;
  PgsidecarConfig config;
  Sidecar sidecar;

  @BeforeEach
  void start() throws Exception {
    PgsidecarConfig base = TestConfig.of(new FakePgdata(work.resolve("pgdata"), 1L).root(), work);
    int nobody;
    try (ServerSocket s = new ServerSocket(0)) {
      nobody = s.getLocalPort(); // no PostgreSQL: nothing here needs one
    }
    config = new PgsidecarConfig(base.cluster(), base.pgdata(), base.socket(), base.http(),
        new PgsidecarConfig.Postgres("127.0.0.1", nobody, "postgres", "postgres", Optional.empty(),
            base.postgres().binDir()),
        base.storage(), base.compression(), base.encryption(), base.wal(), base.backup(),
        base.dump(), new PgsidecarConfig.Metrics(0, "127.0.0.1"), base.schedule());
    sidecar = new Sidecar(config, new MemoryStorage(), new XorPipeline(), new AgentMetrics("db1"),
        new VertxOptions());
    sidecar.agent().router().get("/v1/test/throws").handler(ctx -> {
      throw new IllegalStateException("a handler bug");
    });
    sidecar.start();
  }

  @AfterEach
  void stop() {
    sidecar.close();
  }

  List<Path> sockets() {
    return List.of(config.socket(), config.adminSocket());
  }

  /** Sends {@code request} to both sockets: the same status and exact body from each. */
  void refused(String request, int status, String body, boolean closes) throws Exception {
    for (Path socket : sockets()) {
      RawHttp.Exchange x = RawHttp.send(socket, request, WAIT);
      RawHttp.Response r = x.first();
      String where = socket.getFileName() + " " + request.lines().findFirst().orElse("");
      assertEquals(status, r.status(), where + ": " + x.text());
      assertEquals("application/json", r.headers().get("content-type"), where);
      assertEquals(body, r.text(), where);
      if (closes) {
        assertTrue(x.closedByAgent(), where + ": connection left open");
        assertEquals("close", r.headers().get("connection"), where);
      }
    }
  }

  @Test
  void aMalformedRequestLineIs400AndClosesTheConnection() throws Exception {
    refused("GARBAGE\r\n\r\n", 400, "{\"error\":\"malformed HTTP request (text is empty (possibly"
        + " HTTP/0.9)); send an HTTP/1.1 request line 'METHOD /path HTTP/1.1', then 'Name: value'"
        + " header lines and an empty line\"}\n", true);
  }

  @Test
  void twoContentLengthsOrALengthWithChunkedAre400() throws Exception {
    refused("POST /v1/wal/push HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
        + "\r\n{}{}{}", 400, "{\"error\":\"malformed HTTP request (Multiple Content-Length values"
        + " found: [5, 6]); send an HTTP/1.1 request line 'METHOD /path HTTP/1.1', then 'Name:"
        + " value' header lines and an empty line\"}\n", true);
    refused("POST /v1/wal/push HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "{\"error\":\"malformed HTTP request"
        + " (Content-Length are not allowed in HTTP/1.1 messages that contains a Transfer-Encoding"
        + " header.); send an HTTP/1.1 request line 'METHOD /path HTTP/1.1', then 'Name: value'"
        + " header lines and an empty line\"}\n", true);
  }

  @Test
  void aBadPercentEscapeIs400NamingIt() throws Exception {
    refused("GET /v1/wal/%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "{\"error\":\"bad request GET"
        + " /v1/wal/%zz: a '%' in the path or query is not followed by two hex digits; send a Host"
        + " header and a path percent-encoded per RFC 3986\"}\n", true);
  }

  @Test
  void aRequestWithoutHostIs400AndTheConnectionIsClosed() throws Exception {
    // no Connection: close from the client: before, Vert.x answered plain text and kept it open
    refused("GET /readyz HTTP/1.1\r\n\r\n", 400, "{\"error\":\"bad request GET /readyz: For"
        + " HTTP/1.x requests, the 'Host' header is required; send a Host header and a path"
        + " percent-encoded per RFC 3986\"}\n", true);
  }

  @Test
  void aBodyOverTheRouteLimitIs413AndTheRestIsNotAwaited() throws Exception {
    String body = "{\"path\":\"" + "x".repeat(70 * 1024) + "\"}";
    refused("POST /v1/wal/push HTTP/1.1\r\nHost: a\r\nContent-Length: " + body.length()
        + "\r\n\r\n" + body, 413, "{\"error\":\"the request body of POST /v1/wal/push is larger"
        + " than this route accepts (a few KiB of JSON at most); send the JSON body the route"
        + " documents\"}\n", true);
    // announced as 100 MB, 1 KiB sent: answered and closed at once, not held for the rest
    RawHttp.Exchange x = RawHttp.send(config.adminSocket(), "POST /v1/backups HTTP/1.1\r\nHost: a"
        + "\r\nContent-Length: 100000000\r\n\r\n" + "y".repeat(20 * 1024), WAIT);
    assertEquals(413, x.status(), x.text());
    assertTrue(x.closedByAgent() && x.millis() < 5000, x.millis() + " ms");
  }

  @Test
  void aRequestLineOver4KiBIs414() throws Exception {
    refused("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, "{\"error\":\"the"
        + " request line is longer than 4096 bytes; no route of the agent takes a path or query"
        + " that long\"}\n", true);
  }

  @Test
  void headersOver8KiBAre431() throws Exception {
    refused("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(9000) + "\r\n\r\n", 431,
        "{\"error\":\"the request headers are larger than 8192 bytes; send only the headers the"
        + " request needs\"}\n", true);
  }

  @Test
  void anUnknownRouteOrAnAsteriskTargetIs404() throws Exception {
    refused("GET /nothing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 404,
        "{\"error\":\"no route GET /nothing\"}\n", false);
    refused("OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 404,
        "{\"error\":\"no route OPTIONS *\"}\n", false);
    refused("BREW /healthz/../x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 404,
        "{\"error\":\"no route BREW /healthz/../x\"}\n", false);
  }

  @Test
  void aKnownPathWithAnotherMethodIs405WithAllow() throws Exception {
    RawHttp.Response r = RawHttp.send(config.adminSocket(),
        "DELETE /v1/status HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", WAIT).first();
    assertEquals(405, r.status());
    assertEquals("GET", r.headers().get("allow"));
    assertEquals("{\"error\":\"DELETE is not allowed on /v1/status; it answers GET\"}\n", r.text());

    r = RawHttp.send(config.adminSocket(),
        "PUT /v1/backups/20000101T000000Z HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", WAIT).first();
    assertEquals(405, r.status());
    assertEquals("DELETE, GET", r.headers().get("allow"));

    // on the hook socket every other /v1/ request stays a 403 naming the admin socket
    r = RawHttp.send(config.socket(),
        "POST /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", WAIT).first();
    assertEquals(405, r.status());
    assertEquals("GET", r.headers().get("allow"));
    assertEquals("{\"error\":\"POST is not allowed on /healthz; it answers GET\"}\n", r.text());
    assertEquals(403, RawHttp.send(config.socket(),
        "PUT /v1/wal/push HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", WAIT).status());
  }

  @Test
  void aHandlerThatThrowsIs500WithoutItsStackTrace() throws Exception {
    RawHttp.Response r = RawHttp.send(config.adminSocket(),
        "GET /v1/test/throws HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", WAIT).first();
    assertEquals(500, r.status());
    assertEquals("{\"error\":\"GET /v1/test/throws failed unexpectedly:"
        + " java.lang.IllegalStateException: a handler bug (details in the agent's log)\"}\n",
        r.text());
  }

  @Test
  void aLongPathIsEchoedCutShort() throws Exception {
    String path = "/" + "p".repeat(3000);
    RawHttp.Response r = RawHttp.send(config.adminSocket(),
        "GET " + path + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", WAIT).first();
    assertEquals(404, r.status());
    assertEquals("{\"error\":\"no route GET " + path.substring(0, 200) + "... (3001 characters)\"}\n",
        r.text());
  }

  @Test
  void aBodyOnAGetOrDeleteIsRefusedBeforeAnyRouteRuns() throws Exception {
    // found by SocketFuzzTest: a GET of a WAL file with a chunked body whose chunk size was
    // "zz" had its connection dropped without an answer while the fetch was under way
    refused("GET /v1/wal/00000002.history HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        + "\r\n3\r\nabc\r\nzz\r\nabc\r\n0\r\n\r\n", 400, "{\"error\":\"GET /v1/wal/00000002.history"
        + " carries a body (Transfer-Encoding: chunked); GET requests to the agent take none: send"
        + " it without one\"}\n", true);
    refused("DELETE /v1/backups/20000101T000000Z HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n"
        + "{}{}", 400, "{\"error\":\"DELETE /v1/backups/20000101T000000Z carries a body"
        + " (Content-Length: 4); DELETE requests to the agent take none: send it without one\"}\n",
        true);
    assertEquals(200, RawHttp.send(config.socket(), "GET /healthz HTTP/1.1\r\nHost: a\r\n"
        + "Content-Length: 0\r\nConnection: close\r\n\r\n", WAIT).status());
  }

  @Test
  void anUnknownExpectationIs417() throws Exception {
    // found by SocketFuzzTest: Vert.x's body reader answered this in plain text
    refused("POST /v1/wal/push HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 200-ok\r\n\r\n{}",
        417, "{\"error\":\"the agent does not meet 'Expect: 200-ok' (POST /v1/wal/push); send the"
        + " request without an Expect header, or with 'Expect: 100-continue'\"}\n", true);
  }

  @Test
  void aMalformedChunkOnAPushIs400() throws Exception {
    refused("POST /v1/wal/push HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "3\r\nabc\r\nzz\r\nabc\r\n0\r\n\r\n", 400, "{\"error\":\"the body of POST /v1/wal/push could not"
        + " be read (java.lang.NumberFormatException: Invalid character in chunk size); send the"
        + " whole body, framed by its Content-Length or by well-formed chunks\"}\n", true);
  }

  @Test
  void aClientHangingUpMidBodyIsLoggedAsNoError() throws Exception {
    List<LogRecord> severe = new CopyOnWriteArrayList<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord r) {
        if (r.getLevel().intValue() >= Level.SEVERE.intValue()) {
          severe.add(r);
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Logger root = Logger.getLogger("");
    root.addHandler(capture);
    try {
      for (Path socket : sockets()) {
        // before: "Unhandled exception in router ... HttpClosedException" with a stack trace
        RawHttp.send(socket, "POST /v1/wal/push HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n"
            + "\r\n{\"pa", Duration.ofMillis(300));
      }
      Thread.sleep(500);
      assertEquals(List.of(), severe.stream().map(r -> r.getMessage() + " " + r.getThrown()).toList());
      assertEquals(200, RawHttp.send(config.socket(), "GET /healthz HTTP/1.1\r\nHost: a\r\n"
          + "Connection: close\r\n\r\n", WAIT).status());
    } finally {
      root.removeHandler(capture);
    }
  }

  /**
   * The one refusal that stays Vert.x's own: a request line with a version other than HTTP/1.0
   * or 1.1 is answered 501 with no body before any handler of the agent is asked (Vert.x 5.2
   * has no hook there), and the connection is closed.
   */
  @Test
  void anUnsupportedHttpVersionIsABare501AndClosed() throws Exception {
    for (Path socket : sockets()) {
      RawHttp.Exchange x = RawHttp.send(socket, "GET /readyz HTTP/2.0\r\nHost: a\r\n\r\n", WAIT);
      assertEquals(501, x.status(), x.text());
      assertEquals(0, x.first().body().length);
      assertTrue(x.closedByAgent());
    }
  }

  @Test
  void anHttp2PrefaceIsNotSpokenTo() throws Exception {
    // no h2c on the sockets: the preface is an HTTP/1 request with an unknown version
    for (Path socket : sockets()) {
      RawHttp.Exchange x = RawHttp.send(socket, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", WAIT);
      assertTrue(x.text().startsWith("HTTP/"), x.text());
      assertTrue(x.status() == 400 || x.status() == 501, x.text());
      assertTrue(x.closedByAgent());
    }
  }
}
