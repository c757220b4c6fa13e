package io.pgsidecar.agent.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Raw bytes over a unix socket, for tests of what the agent does with requests no real client
 * sends: the request is written as given (no Host or Content-Length added), then everything the
 * agent answers is read until it closes the connection or {@code wait} passes. Unlike
 * {@link UnixHttp} a missing or malformed answer is a result, not an exception.
 */
public final class RawHttp {

  private static final ScheduledExecutorService CLOCK = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("raw-http-timeout").factory());

  /**
   * What came back.
   *
   * @param raw every byte received
   * @param closedByAgent the agent closed the connection (EOF or reset) before {@code wait}
   * @param millis from the first byte sent to the close (or to giving up)
   */
  public record Exchange(byte[] raw, boolean closedByAgent, long millis) {

    /** The status of the first response, -1 if there is no complete status line. */
    public int status() {
      List<Response> all = responses();
      return all.isEmpty() ? -1 : all.get(0).status();
    }

    public Response first() {
      List<Response> all = responses();
      if (all.isEmpty()) {
        throw new AssertionError("no complete HTTP response in " + raw.length + " bytes: "
            + new String(raw, StandardCharsets.ISO_8859_1));
      }
      return all.get(0);
    }

    /** Every complete response, framed by Content-Length (the agent never sends chunked errors). */
    public List<Response> responses() {
      List<Response> out = new ArrayList<>();
      int at = 0;
      while (at < raw.length) {
        Response r = Response.parse(raw, at);
        if (r == null) {
          break;
        }
        out.add(r);
        at = r.end();
      }
      return out;
    }

    public String text() {
      return new String(raw, StandardCharsets.ISO_8859_1);
    }
  }

  /**
   * One response: status line, lower-cased headers, the body by Content-Length (or to the end).
   *
   * @param end the offset just after this response in the received bytes
   */
  public record Response(String statusLine, int status, Map<String, String> headers, byte[] body,
      int end) {

    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    static Response parse(byte[] raw, int from) {
      int head = -1;
      for (int i = from; i + 3 < raw.length; i++) {
        if (raw[i] == '\r' && raw[i + 1] == '\n' && raw[i + 2] == '\r' && raw[i + 3] == '\n') {
          head = i;
          break;
        }
      }
      if (head < 0) {
        return null;
      }
      String[] lines = new String(raw, from, head - from, StandardCharsets.ISO_8859_1).split("\r\n");
      String[] status = lines[0].split(" ", 3);
      if (status.length < 2 || !status[0].startsWith("HTTP/") || !status[1].matches("[1-5][0-9][0-9]")) {
        return null;
      }
      Map<String, String> headers = new LinkedHashMap<>();
      for (int i = 1; i < lines.length; i++) {
        int c = lines[i].indexOf(':');
        if (c <= 0) {
          return null;
        }
        headers.merge(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT),
            lines[i].substring(c + 1).trim(), (a, b) -> a + ", " + b);
      }
      int bodyStart = head + 4;
      int bodyEnd = raw.length;
      String length = headers.get("content-length");
      if (length != null) {
        bodyEnd = bodyStart + Integer.parseInt(length);
        if (bodyEnd > raw.length) {
          return null;
        }
      }
      return new Response(lines[0], Integer.parseInt(status[1]), headers,
          java.util.Arrays.copyOfRange(raw, bodyStart, bodyEnd), bodyEnd);
    }
  }

  private RawHttp() {}

  /** Sends {@code request} (ISO-8859-1, so any byte 0-255 can be written) and reads the answer. */
  public static Exchange send(Path socket, String request, Duration wait) throws IOException {
    return send(socket, request.getBytes(StandardCharsets.ISO_8859_1), wait);
  }

  public static Exchange send(Path socket, byte[] request, Duration wait) throws IOException {
    return exchange(socket, List.of(request), Duration.ZERO, wait);
  }

  /**
   * Sends {@code parts} with {@code pause} between them (a slow client), then reads until the
   * agent closes or {@code wait} after the last part. A part the agent no longer takes (it
   * closed) ends the sending.
   */
  public static Exchange exchange(Path socket, List<byte[]> parts, Duration pause, Duration wait)
      throws IOException {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      long t0 = System.nanoTime();
      ScheduledFuture<?> giveUp = CLOCK.schedule(() -> close(ch),
          wait.toMillis() + pause.toMillis() * parts.size(), TimeUnit.MILLISECONDS);
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      boolean closed = false;
      try {
        for (int i = 0; i < parts.size(); i++) {
          if (i > 0) {
            sleep(pause);
          }
          try {
            ByteBuffer b = ByteBuffer.wrap(parts.get(i));
            while (b.hasRemaining()) {
              ch.write(b);
            }
          } catch (IOException gone) {
            break; // the agent closed (a refusal before the whole request was sent)
          }
        }
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        try {
          while (ch.read(buf) >= 0) {
            all.write(buf.array(), 0, buf.position());
            buf.clear();
          }
          closed = true;
        } catch (IOException e) {
          // closed by our own give-up timer, or reset by the agent
          closed = !giveUp.isDone();
        }
      } finally {
        giveUp.cancel(false);
      }
      return new Exchange(all.toByteArray(), closed, (System.nanoTime() - t0) / 1_000_000);
    }
  }

  private static void close(SocketChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  private static void sleep(Duration d) throws IOException {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
