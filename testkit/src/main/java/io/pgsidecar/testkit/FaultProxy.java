package io.pgsidecar.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A small fault-injecting HTTP/1.1 proxy on a free port of 127.0.0.1, in front of one upstream
 * (Azurite, or any plain-HTTP server): point a client at {@link #port()} instead of the server's.
 * Without faults it forwards every request and response byte for byte (keep-alive included).
 * Faults are armed per request with a matcher, for a number of matching requests:
 *
 * <pre>{@code
 * try (var proxy = FaultProxy.to(azurite.port())) {
 *   String endpoint = proxy.endpoint(Azurite.ACCOUNT);      // http://127.0.0.1:<proxy>/devstoreaccount1
 *   proxy.dropResponse(FaultProxy.request("PUT", "comp=blocklist"), 1); // commit, then lose the reply
 *   proxy.reset(FaultProxy.request("PUT", "comp=block&"), 2);          // RST before forwarding
 *   proxy.delay(FaultProxy.any(), Duration.ofSeconds(2), 5);           // slow storage
 *   proxy.refuse(true);                                                // storage down: every
 *   proxy.refuse(false);                                               //   connection reset
 *   proxy.fired();                                                     // faults applied so far
 * }
 * }</pre>
 *
 * <p>Actions: {@link Action#DROP_RESPONSE} forwards the request, reads the whole upstream
 * response (so the upstream did the work) and then resets the client connection without a
 * byte of it: the "lost reply" case. {@link Action#RESET} resets the client connection before
 * forwarding anything: the upstream never sees the request. {@link Action#DELAY} waits, then
 * forwards normally. A request that matches no armed fault is forwarded. Each request carries
 * {@code Connection: keep-alive} semantics of its client; {@code Expect: 100-continue} is
 * answered by the proxy itself, since it reads a whole request before forwarding it.
 */
public final class FaultProxy implements AutoCloseable {

  /** What happens to a matching request. */
  public enum Action { DROP_RESPONSE, RESET, DELAY }

  /** The head of one request as the proxy saw it: method, request target, header lines. */
  public record Request(String method, String target, List<String> headers) {
    /** The target with its %XX escapes decoded (the Azure SDK sends key {@code a/b} as {@code a%2Fb}). */
    public String decodedTarget() {
      return URLDecoder.decode(target.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return method + " " + target;
    }
  }

  private record Fault(Predicate<Request> match, Action action, Duration delay,
      AtomicInteger remaining) {}

  private final InetSocketAddress upstream;
  private final ServerSocket server;
  private final List<Fault> faults = new CopyOnWriteArrayList<>();
  private final List<Request> seen = new CopyOnWriteArrayList<>();
  private final List<String> fired = new CopyOnWriteArrayList<>();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean refusing;
  private volatile boolean closed;

  private FaultProxy(InetSocketAddress upstream) throws IOException {
    this.upstream = upstream;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().name("fault-proxy-" + server.getLocalPort()).start(this::acceptLoop);
  }

  /** Starts a proxy to {@code 127.0.0.1:upstreamPort}. */
  public static FaultProxy to(int upstreamPort) throws IOException {
    return new FaultProxy(new InetSocketAddress(InetAddress.getLoopbackAddress(), upstreamPort));
  }

  /**
   * Matches requests of {@code method} (any when null) whose decoded target contains
   * {@code part}, e.g. {@code request("PUT", "/base/")} or {@code request("PUT", "comp=blocklist")}.
   */
  public static Predicate<Request> request(String method, String part) {
    return r -> (method == null || r.method().equalsIgnoreCase(method))
        && r.decodedTarget().contains(part);
  }

  /** Matches every request. */
  public static Predicate<Request> any() {
    return r -> true;
  }

  public int port() {
    return server.getLocalPort();
  }

  /** The Azure endpoint of {@code account} through this proxy (Azurite's path style). */
  public String endpoint(String account) {
    return "http://127.0.0.1:" + port() + "/" + account;
  }

  /** For the next {@code times} matching requests: forward, then lose the response. */
  public FaultProxy dropResponse(Predicate<Request> match, int times) {
    return arm(match, Action.DROP_RESPONSE, Duration.ZERO, times);
  }

  /** For the next {@code times} matching requests: reset the connection, forward nothing. */
  public FaultProxy reset(Predicate<Request> match, int times) {
    return arm(match, Action.RESET, Duration.ZERO, times);
  }

  /** For the next {@code times} matching requests: wait {@code delay}, then forward. */
  public FaultProxy delay(Predicate<Request> match, Duration delay, int times) {
    return arm(match, Action.DELAY, delay, times);
  }

  /** Arms one fault; {@code times} of {@link Integer#MAX_VALUE} means every matching request. */
  public FaultProxy arm(Predicate<Request> match, Action action, Duration delay, int times) {
    faults.add(new Fault(match, action, delay, new AtomicInteger(times)));
    return this;
  }

  /**
   * Storage down ({@code true}): open connections are reset and every new one is reset at once,
   * so clients see the server gone; {@code false} serves again.
   */
  public void refuse(boolean down) {
    refusing = down;
    if (down) {
      open.forEach(FaultProxy::resetQuietly);
    }
  }

  /**
   * Disarms every fault that has not fired yet and forgets the requests and faults seen so far,
   * so one proxy serves several tests (refusal is left as it is).
   */
  public void clear() {
    faults.clear();
    seen.clear();
    fired.clear();
  }

  /** Every request seen, in arrival order (refused connections send none). */
  public List<Request> requests() {
    return List.copyOf(seen);
  }

  /** One line per fault applied, {@code "DROP_RESPONSE PUT /devstoreaccount1/...?comp=blocklist"}. */
  public List<String> fired() {
    return List.copyOf(fired);
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    open.forEach(FaultProxy::resetQuietly);
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket client = server.accept();
        if (refusing) {
          resetQuietly(client);
          continue;
        }
        open.add(client);
        Thread.ofVirtual().name("fault-proxy-conn").start(() -> serve(client));
      } catch (IOException e) {
        if (!closed) {
          throw new UncheckedIOException("fault proxy stopped accepting on " + port(), e);
        }
      }
    }
  }

  /** One client connection, paired with one upstream connection, request by request. */
  private void serve(Socket client) {
    Socket up = null;
    try (client) {
      InputStream fromClient = client.getInputStream();
      OutputStream toClient = client.getOutputStream();
      while (!closed && !refusing) {
        Head head = Head.read(fromClient);
        if (head == null) {
          return;
        }
        var request = head.request();
        seen.add(request);
        if (head.removeHeader("expect") != null) {
          toClient.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          toClient.flush();
        }
        byte[] body = readBody(fromClient, head, false, false);
        Fault fault = take(request);
        if (fault != null) {
          fired.add(fault.action() + " " + request);
          if (fault.action() == Action.RESET) {
            resetQuietly(client);
            return;
          }
          if (fault.action() == Action.DELAY) {
            Thread.sleep(fault.delay());
          }
        }
        if (refusing) {
          resetQuietly(client);
          return;
        }
        if (up == null) {
          up = new Socket(upstream.getAddress(), upstream.getPort());
          open.add(up);
        }
        OutputStream toUp = up.getOutputStream();
        toUp.write(head.bytes());
        toUp.write(body);
        toUp.flush();
        InputStream fromUp = up.getInputStream();
        Head response = Head.read(fromUp);
        while (response != null && response.status() / 100 == 1) {
          response = Head.read(fromUp); // a 100 Continue from upstream: the client got ours
        }
        if (response == null) {
          resetQuietly(client);
          return;
        }
        int status = response.status();
        boolean noBody = request.method().equals("HEAD") || status == 204 || status == 304;
        byte[] responseBody = readBody(fromUp, response, true, noBody);
        if (fault != null && fault.action() == Action.DROP_RESPONSE) {
          resetQuietly(client);
          return;
        }
        toClient.write(response.bytes());
        toClient.write(responseBody);
        toClient.flush();
        if (response.untilClose()) {
          return;
        }
      }
    } catch (IOException e) {
      // the client or the upstream went away: nothing to forward any more
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      open.remove(client);
      if (up != null) {
        open.remove(up);
        resetQuietly(up);
      }
    }
  }

  private Fault take(Request request) {
    for (Fault fault : faults) {
      if (fault.match().test(request)) {
        int left = fault.remaining().getAndUpdate(n -> n == Integer.MAX_VALUE ? n : Math.max(0, n - 1));
        if (left > 0) {
          return fault;
        }
      }
    }
    return null;
  }

  /**
   * Reads a message body as framed by {@code head} (Content-Length or chunked, raw chunk framing
   * kept); a response without either runs until the upstream closes.
   */
  private static byte[] readBody(InputStream in, Head head, boolean response, boolean noBody)
      throws IOException {
    if (noBody) {
      return new byte[0];
    }
    String te = head.header("transfer-encoding");
    if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
      var out = new ByteArrayOutputStream();
      while (true) {
        String sizeLine = readLine(in);
        out.writeBytes((sizeLine + "\r\n").getBytes(StandardCharsets.US_ASCII));
        int size = Integer.parseInt(sizeLine.split(";")[0].trim(), 16);
        if (size == 0) {
          String trailer;
          do {
            trailer = readLine(in);
            out.writeBytes((trailer + "\r\n").getBytes(StandardCharsets.US_ASCII));
          } while (!trailer.isEmpty());
          return out.toByteArray();
        }
        out.writeBytes(in.readNBytes(size));
        out.writeBytes((readLine(in) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      }
    }
    String length = head.header("content-length");
    if (length != null) {
      long n = Long.parseLong(length.trim());
      byte[] body = in.readNBytes((int) n);
      if (body.length != n) {
        throw new IOException("body ended after " + body.length + " of " + n + " bytes");
      }
      return body;
    }
    if (response) {
      head.untilClose = true;
      return in.readAllBytes();
    }
    return new byte[0];
  }

  private static String readLine(InputStream in) throws IOException {
    var line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
      }
      line.write(b);
    }
    if (line.size() == 0) {
      return null;
    }
    throw new IOException("connection closed inside a line");
  }

  private static void resetQuietly(Socket socket) {
    try {
      socket.setSoLinger(true, 0); // RST rather than FIN: the client sees a reset connection
      socket.close();
    } catch (SocketException ignored) {
      // already closed
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  /** A request or response head: start line and header lines, re-serialisable. */
  private static final class Head {
    private final String startLine;
    private final List<String> headers;
    private boolean untilClose;

    private Head(String startLine, List<String> headers) {
      this.startLine = startLine;
      this.headers = headers;
    }

    /** The next head on the stream, or null at a clean end of stream. */
    static Head read(InputStream in) throws IOException {
      String start = readLine(in);
      while (start != null && start.isEmpty()) {
        start = readLine(in);
      }
      if (start == null) {
        return null;
      }
      List<String> headers = new ArrayList<>();
      String line;
      while ((line = readLine(in)) != null && !line.isEmpty()) {
        headers.add(line);
      }
      if (line == null) {
        throw new IOException("connection closed inside the head of " + start);
      }
      return new Head(start, headers);
    }

    Request request() {
      String[] parts = startLine.split(" ", 3);
      return new Request(parts[0], parts.length > 1 ? parts[1] : "", List.copyOf(headers));
    }

    int status() {
      return Integer.parseInt(startLine.split(" ", 3)[1]);
    }

    String header(String name) {
      for (String h : headers) {
        int colon = h.indexOf(':');
        if (colon > 0 && h.substring(0, colon).trim().equalsIgnoreCase(name)) {
          return h.substring(colon + 1).trim();
        }
      }
      return null;
    }

    String removeHeader(String name) {
      String value = header(name);
      headers.removeIf(h -> h.indexOf(':') > 0
          && h.substring(0, h.indexOf(':')).trim().equalsIgnoreCase(name));
      return value;
    }

    boolean untilClose() {
      return untilClose || "close".equalsIgnoreCase(header("connection"));
    }

    byte[] bytes() {
      var text = new StringBuilder(startLine).append("\r\n");
      headers.forEach(h -> text.append(h).append("\r\n"));
      return text.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }
  }
}
