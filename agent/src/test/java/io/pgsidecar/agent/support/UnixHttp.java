package io.pgsidecar.agent.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A minimal HTTP/1.1 client over a unix socket for tests ({@code Connection: close}, whole body
 * read until EOF), so a test sees exactly the bytes the agent sent, including a truncated body.
 */
public final class UnixHttp {

  /** Status, lower-cased headers, and every body byte received before the connection closed. */
  public record Response(int status, Map<String, String> headers, byte[] body) {
    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  private UnixHttp() {}

  public static Response post(Path socket, String path, String json) throws IOException {
    return exchange(socket, "POST", path, json.getBytes(StandardCharsets.UTF_8));
  }

  public static Response get(Path socket, String path) throws IOException {
    return exchange(socket, "GET", path, null);
  }

  /** A GET with extra request headers. */
  public static Response get(Path socket, String path, Map<String, String> headers) throws IOException {
    return exchange(socket, "GET", path, null, headers);
  }

  public static Response exchange(Path socket, String method, String path, byte[] body) throws IOException {
    return exchange(socket, method, path, body, Map.of());
  }

  private static Response exchange(Path socket, String method, String path, byte[] body,
      Map<String, String> headers) throws IOException {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      StringBuilder req = new StringBuilder()
          .append(method).append(' ').append(path).append(" HTTP/1.1\r\n")
          .append("Host: agent\r\nConnection: close\r\n");
      headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
      if (body != null) {
        req.append("Content-Type: application/json\r\nContent-Length: ").append(body.length).append("\r\n");
      }
      req.append("\r\n");
      ch.write(ByteBuffer.wrap(req.toString().getBytes(StandardCharsets.US_ASCII)));
      if (body != null) {
        ch.write(ByteBuffer.wrap(body));
      }
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
      try {
        while (ch.read(buf) >= 0) {
          all.write(buf.array(), 0, buf.position());
          buf.clear();
        }
      } catch (IOException reset) {
        // a reset connection ends the body early: keep what arrived
      }
      return parse(all.toByteArray());
    }
  }

  private static Response parse(byte[] raw) throws IOException {
    int end = -1;
    for (int i = 0; i + 3 < raw.length; i++) {
      if (raw[i] == '\r' && raw[i + 1] == '\n' && raw[i + 2] == '\r' && raw[i + 3] == '\n') {
        end = i;
        break;
      }
    }
    if (end < 0) {
      throw new IOException("no complete HTTP head in " + raw.length + " bytes");
    }
    String[] lines = new String(raw, 0, end, StandardCharsets.US_ASCII).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int c = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim());
    }
    byte[] body = java.util.Arrays.copyOfRange(raw, end + 4, raw.length);
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      throw new IOException("chunked bodies are not expected from the agent here");
    }
    return new Response(status, headers, body);
  }
}
