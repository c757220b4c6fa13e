package io.pgsidecar.protocol;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A tiny HTTP/1.1 responder standing in for the pgsidecar agent: JDK only, on a unix socket
 * (or TCP on 127.0.0.1), one connection at a time. Each test says how to answer with a
 * {@link Handler} that writes raw bytes, so it can also answer wrongly (truncated, chunked).
 */
public final class FakeAgent implements AutoCloseable {

  /** A request as received; header names in lower case. */
  public record Request(String method, String target, Map<String, String> headers, byte[] body) {
    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  @FunctionalInterface
  public interface Handler {
    void handle(Request request, OutputStream out) throws IOException;
  }

  private final ServerSocketChannel server;
  private final Path socket;
  private final Handler handler;
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final Thread acceptor;

  private FakeAgent(ServerSocketChannel server, Path socket, Handler handler) {
    this.server = server;
    this.socket = socket;
    this.handler = handler;
    this.acceptor = Thread.ofPlatform().daemon().name("fake-agent").start(this::serve);
  }

  /** Listens on {@code socket}, made connectable by every user (PostgreSQL runs as postgres). */
  public static FakeAgent onSocket(Path socket, Handler handler) throws IOException {
    ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    ch.bind(UnixDomainSocketAddress.of(socket));
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rwxrwxrwx"));
    return new FakeAgent(ch, socket, handler);
  }

  public static FakeAgent onTcp(Handler handler) throws IOException {
    ServerSocketChannel ch = ServerSocketChannel.open();
    ch.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    return new FakeAgent(ch, null, handler);
  }

  public String url() throws IOException {
    return "http://127.0.0.1:" + ((InetSocketAddress) server.getLocalAddress()).getPort();
  }

  public List<Request> requests() {
    return requests;
  }

  private void serve() {
    while (server.isOpen()) {
      try (SocketChannel c = server.accept()) {
        InputStream in = new BufferedInputStream(Channels.newInputStream(c));
        Request r = read(in);
        requests.add(r);
        OutputStream out = Channels.newOutputStream(c);
        handler.handle(r, out);
        out.flush();
      } catch (IOException e) {
        if (server.isOpen()) {
          System.err.println("fake agent: " + e);
        }
      }
    }
  }

  private static Request read(InputStream in) throws IOException {
    String[] requestLine = AgentConnection.readLine(in).split(" ");
    Map<String, String> headers = new LinkedHashMap<>();
    for (String line = AgentConnection.readLine(in); !line.isEmpty();
        line = AgentConnection.readLine(in)) {
      int colon = line.indexOf(':');
      headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
          line.substring(colon + 1).trim());
    }
    int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
    return new Request(requestLine[0], requestLine[1], headers, in.readNBytes(length));
  }

  @Override
  public void close() throws IOException {
    server.close();
    try {
      acceptor.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (socket != null) {
      Files.deleteIfExists(socket);
    }
  }

  // ---- answers -----------------------------------------------------------------------------

  public static void respond(OutputStream out, int status, Map<String, String> headers, byte[] body)
      throws IOException {
    StringBuilder head = new StringBuilder("HTTP/1.1 " + status + " X\r\n");
    headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
    head.append("Content-Length: ").append(body.length).append("\r\n\r\n");
    out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.write(body);
  }

  public static void json(OutputStream out, int status, String json) throws IOException {
    respond(out, status, Map.of("Content-Type", "application/json"),
        json.getBytes(StandardCharsets.UTF_8));
  }

  /** The agent's "not in the archive": 404 naming the file in X-Pgsidecar-Missing. */
  public static void missing(OutputStream out, String name, String json) throws IOException {
    respond(out, 404, Map.of("Content-Type", "application/json", "X-Pgsidecar-Missing", name),
        json.getBytes(StandardCharsets.UTF_8));
  }

  /** Announces {@code body.length} bytes but sends only {@code sent} and hangs up. */
  public static void truncated(OutputStream out, byte[] body, int sent) throws IOException {
    out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
    out.write(body, 0, sent);
  }

  /** The body in chunks of {@code chunkSize}, with a chunk extension and a trailer. */
  public static void chunked(OutputStream out, byte[] body, int chunkSize) throws IOException {
    out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        .getBytes(StandardCharsets.ISO_8859_1));
    for (int off = 0; off < body.length; off += chunkSize) {
      int n = Math.min(chunkSize, body.length - off);
      out.write((Integer.toHexString(n) + ";ext=1\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(body, off, n);
      out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
    }
    out.write("0\r\nX-Trailer: t\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
  }
}
