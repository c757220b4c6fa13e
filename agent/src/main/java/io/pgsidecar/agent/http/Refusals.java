package io.pgsidecar.agent.http;

import java.lang.System.Logger.Level;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The refusals that Vert.x itself makes, answered with the same JSON problem body as the routes'
 * own ({@code {"error": "..."}}, see {@link Responses}) instead of Vert.x's bare status or plain
 * text, so a client (the launchers, the CLI, curl in a script) always gets one shape:
 * <ul>
 *   <li>requests Netty cannot parse ({@link #invalidRequest}): 400 for a malformed request line
 *       or header, 414 for a request line longer than
 *       {@value HttpServerOptions#DEFAULT_MAX_INITIAL_LINE_LENGTH} bytes, 431 for headers larger
 *       than {@value HttpServerOptions#DEFAULT_MAX_HEADER_SIZE} bytes; the connection is closed,
 *       since the rest of its bytes cannot be framed;</li>
 *   <li>refusals of the router ({@link #register}): 400 (a path with a bad %-escape, no Host
 *       header, a body on a GET, HEAD, DELETE or OPTIONS, a malformed body), 404 (no route), 405
 *       (the path exists for other methods, with {@code Allow}), 413 (a body over the route's
 *       limit), 417 (an unknown {@code Expect}), 500 (a handler threw), and any other 4xx/5xx
 *       with its reason phrase.</li>
 * </ul>
 * The one refusal left to Vert.x: a request line whose version is not HTTP/1.0 or 1.1 gets a
 * bare 501 before any handler is asked (Vert.x 5.2 has no hook there).
 * Echoed request text is cut to {@value #ECHO} characters: a 4 KiB path is refused, not
 * copied back.
 */
public final class Refusals {

  private static final System.Logger LOG = System.getLogger(Refusals.class.getName());

  /** How much of a path or a parser message a refusal repeats. */
  static final int ECHO = 200;

  private Refusals() {}

  /**
   * The invalid-request handler of every server: the status Vert.x would send, with a JSON body
   * that says what was wrong, then the connection is closed.
   */
  public static void invalidRequest(HttpServerRequest req) {
    DecoderResult result = req.decoderResult();
    Throwable cause = result == null ? null : result.cause();
    int status;
    String error;
    if (cause instanceof TooLongHttpLineException) {
      status = 414;
      error = "the request line is longer than " + HttpServerOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH
          + " bytes; no route of the agent takes a path or query that long";
    } else if (cause instanceof TooLongHttpHeaderException) {
      status = 431;
      error = "the request headers are larger than " + HttpServerOptions.DEFAULT_MAX_HEADER_SIZE
          + " bytes; send only the headers the request needs";
    } else {
      status = 400;
      error = "malformed HTTP request (" + cut(cause == null ? "unparsable" : String.valueOf(
          cause.getMessage())) + "); send an HTTP/1.1 request line 'METHOD /path HTTP/1.1', then"
          + " 'Name: value' header lines and an empty line";
    }
    HttpServerResponse r = req.response();
    r.putHeader("Connection", "close");
    Responses.json(r, status, Map.of("error", error));
    req.connection().close();
  }

  /**
   * {@code requests}, with an answer for a request whose body turns out malformed (a bad chunk
   * size) on a route that does not read bodies: without it Vert.x drops the connection with no
   * answer. Routes that read the body (their BodyHandler) replace this with their own; the
   * others answer synchronously or never see a body ({@link #register} refuses one first), so
   * this never writes while a handler on another thread does.
   */
  public static Handler<HttpServerRequest> answeringBrokenBodies(Handler<HttpServerRequest> requests) {
    return req -> {
      req.exceptionHandler(t -> {
        HttpServerResponse r = req.response();
        if (!r.headWritten() && !r.closed()) {
          r.putHeader("Connection", "close");
          Responses.json(r, 400, Map.of("error", "the body of " + req.method() + " "
              + cut(req.path()) + " is malformed (" + cut(String.valueOf(t.getMessage()))
              + "); this route takes no body: send none"));
        }
        req.connection().close();
      });
      requests.handle(req);
    };
  }

  /** Installs the JSON answers for the router's own refusals on {@code router}. */
  public static void register(Router router) {
    router.route().order(Integer.MIN_VALUE).handler(Refusals::noBodyWhereNoneIsRead);
    // any other status a handler of Vert.x fails with (417 for an Expect it does not know...):
    // the same shape, the reason phrase and the failure's message
    for (int status = 400; status < 600; status++) {
      int code = status;
      on(router, code, ctx -> Responses.json(ctx, code, Map.of("error", route(ctx) + " refused: "
          + code + " " + HttpResponseStatus.valueOf(code).reasonPhrase()
          + (ctx.failure() == null ? "" : " (" + cut(String.valueOf(ctx.failure().getMessage()))
          + ")"))));
    }
    on(router, 417, ctx -> {
      closeAfter(ctx);
      Responses.json(ctx, 417, Map.of("error", "the agent does not meet 'Expect: "
          + cut(ctx.request().getHeader("Expect")) + "' (" + route(ctx) + "); send the request"
          + " without an Expect header, or with 'Expect: 100-continue'"));
    });
    on(router, 400, Refusals::badRequest);
    on(router, 404, ctx -> Responses.json(ctx, 404, Map.of("error", "no route " + route(ctx))));
    on(router, 405, ctx -> methodNotAllowed(router, ctx));
    // the rest of such a body is not worth reading: answer, then close
    on(router, 413, ctx -> {
      closeAfter(ctx);
      Responses.json(ctx, 413, Map.of("error", "the request body of " + route(ctx) + " is larger"
          + " than this route accepts (a few KiB of JSON at most); send the JSON body the route"
          + " documents"));
    });
    on(router, 500, Refusals::internalError);
    // Vert.x's body reader fails the request with status 200 when the stream breaks (the client
    // hung up mid-body, or the read timeout closed it): nobody is left to answer, and it is not
    // an error of the agent worth a stack trace
    on(router, 200, Refusals::bodyBroken);
  }

  private static void bodyBroken(RoutingContext ctx) {
    LOG.log(Level.DEBUG, () -> "the body of " + route(ctx) + " broke off: " + ctx.failure());
    if (!ctx.response().closed() && !ctx.response().headWritten()) {
      closeAfter(ctx);
      Responses.json(ctx, 400, Map.of("error", "the body of " + route(ctx) + " could not be read ("
          + cut(String.valueOf(ctx.failure())) + "); send the whole body, framed by its"
          + " Content-Length or by well-formed chunks"));
    }
  }

  /**
   * An error handler that answers even when it fails itself: Vert.x only logs a throwing error
   * handler, and the client would wait for an answer that never comes.
   */
  private static void on(Router router, int status, Handler<RoutingContext> handler) {
    router.errorHandler(status, ctx -> {
      try {
        handler.handle(ctx);
      } catch (RuntimeException e) {
        LOG.log(Level.ERROR, "answering " + status + " to " + route(ctx) + " failed", e);
        if (!ctx.response().headWritten()) {
          ctx.response().headers().remove("Allow");
          Responses.json(ctx, status, Map.of("error", "refused with HTTP " + status
              + " (details in the agent's log)"));
        }
      }
    });
  }

  /** The methods whose routes never read a body. */
  static final Set<HttpMethod> BODILESS = Set.of(HttpMethod.GET, HttpMethod.HEAD,
      HttpMethod.DELETE, HttpMethod.OPTIONS);

  /**
   * A GET, HEAD, DELETE or OPTIONS with a body is refused before any route sees it: no route
   * reads one, and a body nobody reads is the one case where a malformed chunk or a body that
   * stops arriving would end in a dropped connection instead of an answer.
   */
  private static void noBodyWhereNoneIsRead(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String te = req.getHeader("Transfer-Encoding");
    String cl = req.getHeader("Content-Length");
    if (!BODILESS.contains(req.method()) || te == null && (cl == null || cl.equals("0"))) {
      ctx.next();
      return;
    }
    closeAfter(ctx);
    Responses.json(ctx, 400, Map.of("error", route(ctx) + " carries a body ("
        + (te != null ? "Transfer-Encoding: " + cut(te) : "Content-Length: " + cut(cl)) + "); "
        + req.method() + " requests to the agent take none: send it without one"));
  }

  private static void badRequest(RoutingContext ctx) {
    if (ctx.response().ended() || ctx.response().headWritten()) {
      return;
    }
    // the router does not hand its own parse failure (a bad %-escape) to the error handler
    Throwable t = ctx.failure();
    String why = t != null && t.getMessage() != null ? t.getMessage()
        : badEscape(ctx.request().uri()) ? "a '%' in the path or query is not followed by two"
            + " hex digits"
        : "the request cannot be routed";
    closeAfter(ctx);
    Responses.json(ctx, 400, Map.of("error", "bad request " + route(ctx) + ": " + cut(why)
        + "; send a Host header and a path percent-encoded per RFC 3986"));
  }

  /** Says so in the answer and closes the connection once it is written. */
  private static void closeAfter(RoutingContext ctx) {
    if (ctx.response().headWritten()) {
      return; // answered already (the read timeout's 408)
    }
    ctx.response().putHeader("Connection", "close");
    HttpConnection conn = ctx.request().connection();
    ctx.addEndHandler(ar -> conn.close());
  }

  static boolean badEscape(String uri) {
    if (uri == null) {
      return false;
    }
    for (int i = uri.indexOf('%'); i >= 0; i = uri.indexOf('%', i + 1)) {
      if (i + 2 >= uri.length() || Character.digit(uri.charAt(i + 1), 16) < 0
          || Character.digit(uri.charAt(i + 2), 16) < 0) {
        return true;
      }
    }
    return false;
  }

  private static void methodNotAllowed(Router router, RoutingContext ctx) {
    Set<String> allowed = allowedMethods(router, ctx.normalizedPath());
    if (!allowed.isEmpty()) {
      ctx.response().putHeader("Allow", String.join(", ", allowed));
    }
    Responses.json(ctx, 405, Map.of("error", ctx.request().method() + " is not allowed on "
        + cut(ctx.request().path()) + (allowed.isEmpty() ? "" : "; it answers "
        + String.join(", ", allowed))));
  }

  private static void internalError(RoutingContext ctx) {
    Throwable t = ctx.failure();
    LOG.log(Level.ERROR, route(ctx) + " failed unexpectedly", t);
    Responses.json(ctx, 500, Map.of("error", route(ctx) + " failed unexpectedly: "
        + cut(String.valueOf(t)) + " (details in the agent's log)"));
  }

  /**
   * The methods of the routes whose path matches {@code path}: literal segments, {@code :param}
   * for any one segment, a trailing {@code *} for the rest (the only forms the agent registers).
   */
  static Set<String> allowedMethods(Router router, String path) {
    Set<String> out = new TreeSet<>();
    for (Route r : router.getRoutes()) {
      Set<HttpMethod> methods = r.methods();
      if (r.getPath() != null && methods != null && !methods.isEmpty()
          && matches(r.getPath(), path)) {
        r.methods().stream().map(HttpMethod::name).forEach(out::add);
      }
    }
    return out;
  }

  static boolean matches(String pattern, String path) {
    if (path == null) {
      return false;
    }
    if (pattern.endsWith("*")) {
      return path.startsWith(pattern.substring(0, pattern.length() - 1));
    }
    String[] want = pattern.split("/", -1);
    String[] have = path.split("/", -1);
    if (want.length != have.length) {
      return false;
    }
    for (int i = 0; i < want.length; i++) {
      boolean param = want[i].startsWith(":") && !have[i].isEmpty();
      if (!param && !want[i].equals(have[i])) {
        return false;
      }
    }
    return true;
  }

  private static String route(RoutingContext ctx) {
    return ctx.request().method() + " " + cut(ctx.request().path());
  }

  static String cut(String s) {
    if (s == null) {
      return "";
    }
    return s.length() <= ECHO ? s : s.substring(0, ECHO) + "... (" + s.length() + " characters)";
  }
}
