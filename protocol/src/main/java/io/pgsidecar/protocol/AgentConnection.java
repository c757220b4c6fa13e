package io.pgsidecar.protocol;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A minimal HTTP/1.1 client for the pgsidecar agent's API, over its unix socket (the normal
 * case) or over TCP on 127.0.0.1 with a bearer token. JDK only and cheap to load, because it
 * runs in every archive_command and restore_command; the {@code pgsidecar} CLI reuses it. The
 * protocol is described in this package's documentation.
 *
 * <p>One request per connection ({@code Connection: close}). Response bodies are framed by
 * Content-Length or chunked encoding, and a body that ends early fails with an
 * {@link EOFException} instead of looking complete: a truncated WAL segment must never be
 * mistaken for a whole one. There is no read timeout: the agent answers a push only once the
 * segment is durable, which may take as long as the storage needs.
 */
public final class AgentConnection {
  /** Where the agent listens in a pod: the emptyDir shared by the containers. */
  public static final String DEFAULT_SOCKET = AgentApi.DEFAULT_SOCKET;

  private static final int MAX_HEADER_LINE = 16 * 1024;

  private final SocketAddress address;
  private final String hostHeader;
  private final String bearerToken;
  private final String description;

  private AgentConnection(SocketAddress address, String hostHeader, String bearerToken,
      String description) {
    this.address = address;
    this.hostHeader = hostHeader;
    this.bearerToken = bearerToken;
    this.description = description;
  }

  /** The agent listening on a unix domain socket, e.g. {@code /pgsidecar/run/agent.sock}. */
  public static AgentConnection unixSocket(Path socket) {
    return new AgentConnection(UnixDomainSocketAddress.of(socket), "localhost", null,
        socket.toString());
  }

  /**
   * The agent's TCP listener, {@code url} like {@code http://127.0.0.1:8432}; the token (may be
   * null) is sent as {@code Authorization: Bearer}.
   */
  public static AgentConnection tcp(String url, String bearerToken) {
    URI uri = URI.create(url);
    if (!"http".equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() < 0) {
      throw new IllegalArgumentException("agent URL " + url
          + " is not of the form http://HOST:PORT (the agent's TCP listener speaks plain HTTP)");
    }
    return new AgentConnection(new InetSocketAddress(uri.getHost(), uri.getPort()),
        uri.getHost() + ":" + uri.getPort(), bearerToken, url);
  }

  /**
   * The agent as a command line names it, the way wal-archiver and the pgsidecar CLI agree on:
   * {@code --url} (else env {@code PGSIDECAR_URL}) for TCP with env {@code PGSIDECAR_TOKEN} as
   * the bearer token; otherwise {@code --socket} (else env {@code PGSIDECAR_SOCKET}, else
   * {@link #DEFAULT_SOCKET}). A flag given as a socket wins over a URL from the environment.
   *
   * @param socketFlag the --socket value or null
   * @param urlFlag the --url value or null
   * @throws IllegalArgumentException when the URL is not {@code http://HOST:PORT}
   */
  public static AgentConnection resolve(String socketFlag, String urlFlag, Map<String, String> env) {
    String url = urlFlag;
    if (url == null && socketFlag == null) {
      url = env.get(AgentApi.URL_ENV);
    }
    if (url != null && !url.isEmpty()) {
      return tcp(url, env.get(AgentApi.TOKEN_ENV));
    }
    String socket = socketFlag;
    if (socket == null || socket.isEmpty()) {
      socket = env.get(AgentApi.SOCKET_ENV);
    }
    return unixSocket(Path.of(socket == null || socket.isEmpty() ? DEFAULT_SOCKET : socket));
  }

  /** Where the agent is, for messages: the socket path or the URL. */
  public String description() {
    return description;
  }

  /**
   * Sends one request and returns the response with its body unread; the caller closes it.
   *
   * @param path the request target, already encoded, e.g. {@code /v1/wal/00000001...}
   * @param headers extra request headers (may be empty)
   * @param body the request body, or null for none
   * @throws Unavailable when no connection could be made (socket missing, nobody listening)
   * @throws IOException when the exchange failed after connecting
   */
  public Response request(String method, String path, Map<String, String> headers, byte[] body)
      throws IOException {
    SocketChannel channel;
    try {
      channel = SocketChannel.open(address);
    } catch (IOException e) {
      throw new Unavailable("cannot connect to the agent at " + description + ": "
          + e.getMessage(), e);
    }
    try {
      OutputStream out = Channels.newOutputStream(channel);
      out.write(head(method, path, headers, body).getBytes(StandardCharsets.ISO_8859_1));
      if (body != null) {
        out.write(body);
      }
      out.flush();
      InputStream in = new BufferedInputStream(Channels.newInputStream(channel), 64 * 1024);
      return readResponse(method, in, channel);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private String head(String method, String path, Map<String, String> headers, byte[] body) {
    StringBuilder sb = new StringBuilder(256);
    sb.append(method).append(' ').append(path).append(" HTTP/1.1\r\n");
    sb.append("Host: ").append(hostHeader).append("\r\n");
    sb.append("Connection: close\r\n");
    sb.append("User-Agent: pgsidecar-wal-archiver\r\n");
    if (bearerToken != null && !bearerToken.isEmpty()) {
      sb.append("Authorization: Bearer ").append(bearerToken).append("\r\n");
    }
    for (Map.Entry<String, String> h : headers.entrySet()) {
      sb.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
    }
    if (body != null) {
      sb.append("Content-Length: ").append(body.length).append("\r\n");
    }
    return sb.append("\r\n").toString();
  }

  private Response readResponse(String method, InputStream in, Closeable channel)
      throws IOException {
    while (true) {
      String statusLine = readLine(in);
      if (statusLine == null) {
        throw new EOFException("the agent at " + description + " closed the connection without"
            + " an answer");
      }
      // "HTTP/1.1 200 OK": the code is the three characters after the first space.
      int sp = statusLine.indexOf(' ');
      if (!statusLine.startsWith("HTTP/1.") || sp < 0 || statusLine.length() < sp + 4) {
        throw new IOException("the agent at " + description + " sent a malformed status line: "
            + statusLine);
      }
      int status = parseInt(statusLine.substring(sp + 1, sp + 4), "status line " + statusLine);
      Map<String, String> headers = readHeaders(in);
      if (status >= 100 && status < 200) {
        continue; // 100 Continue and friends: the real answer follows
      }
      return new Response(status, headers, body(method, status, headers, in), channel);
    }
  }

  private Map<String, String> readHeaders(InputStream in) throws IOException {
    Map<String, String> headers = new LinkedHashMap<>();
    while (true) {
      String line = readLine(in);
      if (line == null) {
        throw new EOFException("the agent at " + description + " closed the connection in the"
            + " middle of the response headers");
      }
      if (line.isEmpty()) {
        return headers;
      }
      int colon = line.indexOf(':');
      if (colon > 0) {
        headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
            line.substring(colon + 1).trim());
      }
    }
  }

  private InputStream body(String method, int status, Map<String, String> headers,
      InputStream in) throws IOException {
    if ("HEAD".equals(method) || status == 204 || status == 304) {
      return InputStream.nullInputStream();
    }
    String te = headers.get("transfer-encoding");
    if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
      return new ChunkedBody(in);
    }
    String cl = headers.get("content-length");
    if (cl != null) {
      return new LengthBody(in, parseLong(cl, "Content-Length " + cl));
    }
    return in; // no framing: the body ends when the agent closes the connection
  }

  /** Reads a CRLF (or LF) terminated ISO-8859-1 line; null at end of stream before any byte. */
  public static String readLine(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder(64);
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        int n = sb.length();
        if (n > 0 && sb.charAt(n - 1) == '\r') {
          sb.setLength(n - 1);
        }
        return sb.toString();
      }
      if (sb.length() >= MAX_HEADER_LINE) {
        throw new IOException("response line longer than " + MAX_HEADER_LINE + " bytes");
      }
      sb.append((char) c);
    }
    if (sb.length() == 0) {
      return null;
    }
    throw new EOFException("connection closed in the middle of a response line");
  }

  static int parseInt(String s, String what) throws IOException {
    long v = parseLong(s, what);
    if (v > Integer.MAX_VALUE) {
      throw new IOException("number out of range in " + what);
    }
    return (int) v;
  }

  /** Parses a non-negative decimal without exceptions on the happy path. */
  public static long parseLong(String s, String what) throws IOException {
    if (s.isEmpty() || s.length() > 18) {
      throw new IOException("not a number in " + what);
    }
    long v = 0;
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch < '0' || ch > '9') {
        throw new IOException("not a number in " + what);
      }
      v = v * 10 + (ch - '0');
    }
    return v;
  }

  /** The agent could not be reached at all: worth waiting for while it starts. */
  public static final class Unavailable extends IOException {
    private static final long serialVersionUID = 1L;

    Unavailable(String message, IOException cause) {
      super(message, cause);
    }
  }

  /**
   * An answer of the agent. Header names are lower case. The body must be read to its end to
   * know it is complete (an early end throws); closing the response closes the connection.
   */
  public static final class Response implements Closeable {
    private final int status;
    private final Map<String, String> headers;
    private final InputStream body;
    private final Closeable connection;

    Response(int status, Map<String, String> headers, InputStream body, Closeable connection) {
      this.status = status;
      this.headers = headers;
      this.body = body;
      this.connection = connection;
    }

    public int status() {
      return status;
    }

    public Map<String, String> headers() {
      return headers;
    }

    /** A header by its lower-case name, or null. */
    public String header(String lowerCaseName) {
      return headers.get(lowerCaseName);
    }

    public InputStream body() {
      return body;
    }

    /** The body as UTF-8 text, at most {@code limit} bytes of it (for error messages). */
    public String bodyText(int limit) throws IOException {
      return new String(body.readNBytes(limit), StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
      connection.close();
    }
  }

  /** A Content-Length framed body: fewer bytes than announced is an error, not the end. */
  private static final class LengthBody extends InputStream {
    private final InputStream in;
    private long remaining;

    LengthBody(InputStream in, long length) {
      this.in = in;
      this.remaining = length;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (remaining == 0) {
        return -1;
      }
      int n = in.read(b, off, (int) Math.min(len, remaining));
      if (n == -1) {
        throw new EOFException("the agent's response ended " + remaining
            + " bytes before its Content-Length");
      }
      remaining -= n;
      return n;
    }
  }

  /** A chunked body: the stream must end with the zero-length chunk, or it is truncated. */
  private static final class ChunkedBody extends InputStream {
    private final InputStream in;
    private long chunkLeft;
    private boolean done;

    ChunkedBody(InputStream in) {
      this.in = in;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (done) {
        return -1;
      }
      if (chunkLeft == 0) {
        chunkLeft = nextChunkSize();
        if (chunkLeft == 0) {
          while (true) { // trailers, then the empty line
            String t = readLine(in);
            if (t == null) {
              throw new EOFException("the agent's chunked response ended before its last line");
            }
            if (t.isEmpty()) {
              break;
            }
          }
          done = true;
          return -1;
        }
      }
      int n = in.read(b, off, (int) Math.min(len, chunkLeft));
      if (n == -1) {
        throw new EOFException("the agent's chunked response ended inside a chunk");
      }
      chunkLeft -= n;
      if (chunkLeft == 0) {
        String crlf = readLine(in);
        if (crlf == null || !crlf.isEmpty()) {
          throw new IOException("malformed chunked response from the agent");
        }
      }
      return n;
    }

    private long nextChunkSize() throws IOException {
      String line = readLine(in);
      if (line == null) {
        throw new EOFException("the agent's chunked response ended before its last chunk");
      }
      int semi = line.indexOf(';');
      String hex = (semi >= 0 ? line.substring(0, semi) : line).trim();
      if (hex.isEmpty() || hex.length() > 15) {
        throw new IOException("malformed chunk size from the agent: " + line);
      }
      long v = 0;
      for (int i = 0; i < hex.length(); i++) {
        int d = Character.digit(hex.charAt(i), 16);
        if (d < 0) {
          throw new IOException("malformed chunk size from the agent: " + line);
        }
        v = v * 16 + d;
      }
      return v;
    }
  }
}
