package io.pgsidecar.agent.http;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The inputs of {@link SocketFuzzTest}, each from its own seed: structured requests with one or
 * more things wrong (method, target, version, headers, framing, body), byte-level mutations of
 * good requests, and plain noise.
 */
final class Requests {

  private Requests() {}

  static final List<String> METHODS = List.of("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS",
      "PATCH", "TRACE", "CONNECT", "PROPFIND", "get", "G3T", "BREW", "GET\tGET", "", "\u0000GET",
      "POST ");
  static final List<String> TARGETS = List.of("/healthz", "/readyz", "/v1/wal/push",
      "/v1/wal/000000010000000000000001", "/v1/wal/000000010000000000000002",
      "/v1/wal/00000002.history", "/v1/wal/000000010000000000000001.partial", "/v1/status",
      "/v1/backups", "/v1/backups/20000101T000000Z", "/v1/dumps", "/v1/dumps/20200101T000000Z",
      "/v1/retention", "/", "*", "/v1/", "/v1/wal/", "/metrics", "/v1/wal/../backups",
      "/v1/wal/%2e%2e/status", "//v1/status");
  static final List<String> VERSIONS = List.of("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1",
      "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.1 x", "", "HTTP/1",
      "HTTP/11.1", "HTTPS/1.1");
  static final List<String> UNICODE = List.of("é", "\u202e", "\uD834\uDD1E", "\uFEFF", "ß", "日本",
      "\u0000", "\u00ff", "\u2028");
  static final List<String> CLUSTERS = List.of("db1", "other", "", "..%2F..%2Fetc", "db1&cluster=x",
      "%00", "old");

  /** One input: what kind, its bytes, whether it is a complete request that must be answered. */
  record Request(String kind, byte[] bytes, boolean complete, boolean head) {
    Request(String kind, byte[] bytes, boolean complete) {
      this(kind, bytes, complete, new String(bytes, 0, Math.min(5, bytes.length),
          StandardCharsets.ISO_8859_1).equals("HEAD "));
    }

    String show() {
      return printable(bytes, 500);
    }
  }

  static Request any(Random r) {
    int k = r.nextInt(100);
    if (k < 60) {
      return structured(r);
    }
    if (k < 92) {
      Request good = structured(r);
      return new Request("mutated " + good.kind(), mutate(r, good.bytes()), false);
    }
    byte[] noise = new byte[r.nextInt(400)];
    r.nextBytes(noise);
    if (r.nextBoolean()) {
      for (int i = 0; i < noise.length; i++) {
        noise[i] = (byte) (32 + (noise[i] & 0x5f)); // printable noise, now and then CRLFs
        if (r.nextInt(30) == 0) {
          noise[i] = '\n';
        }
      }
    }
    return new Request("noise", noise, false);
  }

  /** A request built field by field, some of them wrong. */
  static Request structured(Random r) {
    String method = r.nextInt(3) == 0 ? pick(r, METHODS) : r.nextBoolean() ? "GET" : "POST";
    String target = target(r);
    String version = r.nextInt(4) != 0 ? "HTTP/1.1" : pick(r, VERSIONS);
    String eol = r.nextInt(25) == 0 ? "\n" : "\r\n";
    boolean complete = true;
    StringBuilder head = new StringBuilder();
    head.append(method).append(r.nextInt(30) == 0 ? "  " : " ").append(target)
        .append(version.isEmpty() ? "" : " " + version).append(eol);

    byte[] body = body(r);
    List<String> headers = new ArrayList<>();
    if (r.nextInt(20) != 0) {
      headers.add("Host: " + (r.nextInt(10) == 0 ? latin1(pick(r, UNICODE)) : "agent"));
    }
    if (r.nextInt(10) < 7) {
      headers.add("Connection: close");
    } else if (r.nextBoolean()) {
      headers.add("Connection: keep-alive");
    }
    if (r.nextInt(6) == 0) {
      headers.add("Content-Type: " + (r.nextBoolean() ? "application/json" : "text/plain; x=\u00ff"));
    }
    int framing = r.nextInt(20);
    if (body.length > 0 || framing > 14) {
      switch (framing) {
        case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 -> headers.add("Content-Length: " + body.length);
        case 10 -> {
          headers.add("Content-Length: " + (body.length + 1 + r.nextInt(1000)));
          complete = false; // announced more than is sent: the read timeout ends it
        }
        case 11 -> headers.add("Content-Length: " + Math.max(0, body.length - 1 - r.nextInt(5)));
        case 12 -> {
          headers.add("Content-Length: " + body.length);
          headers.add("Content-Length: " + (r.nextBoolean() ? body.length : body.length + 7));
        }
        case 13 -> {
          headers.add("Transfer-Encoding: chunked");
          body = chunked(r, body);
          if (r.nextBoolean()) {
            headers.add("Content-Length: " + body.length);
          }
        }
        case 14 -> headers.add("Content-Length: " + pick(r, List.of("-1", "abc", "+5", "0x10",
            "99999999999999999999", " 5", "5 5", "")));
        case 15 -> {
          headers.add("Transfer-Encoding: " + pick(r, List.of("gzip", "chunked, gzip",
              "identity", "chunked, chunked", "xchunked")));
          complete = false;
        }
        default -> {
          // no framing: a body without a length is the next request's garbage
        }
      }
    }
    int extra = r.nextInt(10);
    if (extra == 0) {
      headers.add("X-Big: " + "v".repeat(6000 + r.nextInt(6000)));
    } else if (extra == 1) {
      for (int i = 0; i < 50 + r.nextInt(300); i++) {
        headers.add("X-H" + i + ": " + i);
      }
    } else if (extra == 2) {
      headers.add(pick(r, List.of("NoColonHere", " folded: line", "Bad Name: x", ": empty",
          "X-Nul: a\u0000b", "X-Utf8: " + latin1(pick(r, UNICODE)), "X-CR: a\rb",
          "Expect: 100-continue", "Expect: 200-ok", "Upgrade: websocket", "Upgrade: h2c",
          "Host: second")));
    }
    for (String h : headers) {
      head.append(h).append(eol);
    }
    head.append(eol);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.writeBytes(body);
    if (r.nextInt(15) == 0) { // a pipelined second request
      out.writeBytes("GET /healthz HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
    }
    // a head without its end, or a version the parser waits on, are not complete requests;
    // some headers (Expect, Upgrade) may keep the agent waiting for more, like a truncated body
    String text = head.toString();
    boolean plain = eol.equals("\r\n") && text.endsWith("\r\n\r\n") && extra > 2
        && !method.isEmpty() && method.chars().allMatch(c -> c > 32 && c < 127);
    return new Request("structured", out.toByteArray(), complete && plain);
  }

  static String target(Random r) {
    String t = pick(r, TARGETS);
    int n = r.nextInt(4);
    for (int i = 0; i < n; i++) {
      int slash = t.lastIndexOf('/') < 0 ? 0 : r.nextInt(t.length() + 1);
      String insert = switch (r.nextInt(13)) {
        case 0 -> "/..";
        case 1 -> "/%2e%2e/";
        case 2 -> r.nextBoolean() ? "%00" : "\u0000";
        case 3 -> "%" + Integer.toHexString(r.nextInt(256));
        case 4 -> r.nextBoolean() ? "%zz" : "%";
        case 5 -> latin1(pick(r, UNICODE));
        case 6 -> "//";
        case 7 -> "a".repeat(500 + r.nextInt(r.nextBoolean() ? 1500 : 6000));
        case 8 -> "?cluster=" + pick(r, CLUSTERS);
        case 9 -> "\\";
        case 10 -> "#frag";
        case 11 -> " ";
        default -> "/./";
      };
      t = t.substring(0, Math.min(slash, t.length())) + insert + t.substring(Math.min(slash, t.length()));
    }
    if (r.nextInt(25) == 0) {
      t = "http://agent" + t;
    }
    if (r.nextInt(30) == 0) {
      t = t.toUpperCase(java.util.Locale.ROOT);
    }
    return t;
  }

  static byte[] body(Random r) {
    int k = r.nextInt(12);
    String s = switch (k) {
      case 0, 1, 2, 3 -> "";
      case 4 -> "{\"path\":\"pg_wal/" + pick(r, List.of("000000010000000000000001",
          "000000010000000000000002", "../../sentinel/passwd", "/etc/passwd",
          "000000010000000000000009", "00000000000000000000000A", "archive_status/x.ready",
          "../pg_wal/000000010000000000000003")) + "\""
          + (r.nextBoolean() ? ",\"cluster\":\"" + pick(r, CLUSTERS) + "\"" : "") + "}";
      case 5 -> "{\"path\":" + pick(r, List.of("1", "null", "[]", "{}", "\"\"", "true")) + "}";
      case 6 -> "{\"label\":\"" + "l".repeat(r.nextInt(50)) + "\",\"databases\":\"x\"}";
      case 7 -> "[1,2," + "[".repeat(r.nextInt(2000)) + "]";
      case 8 -> "{\"path\":\"" + "x".repeat(60 * 1024 + r.nextInt(20 * 1024)) + "\"}";
      case 9 -> latin1(pick(r, UNICODE)) + "{\"path\":\"pg_wal/000000010000000000000001\"}";
      default -> {
        byte[] b = new byte[r.nextInt(600)];
        r.nextBytes(b);
        yield new String(b, StandardCharsets.ISO_8859_1);
      }
    };
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** {@code body} in chunked encoding, now and then with a broken size line. */
  static byte[] chunked(Random r, byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    while (at < body.length) {
      int n = Math.min(body.length - at, 1 + r.nextInt(200));
      String size = r.nextInt(20) == 0 ? pick(r, List.of("zz", "-1", "ffffffffffff", "")) : Integer.toHexString(n);
      out.writeBytes((size + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body, at, n);
      out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
      at += n;
    }
    out.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  /** 1 to 6 byte-level changes: flips, inserted control or high bytes, cuts, repeats. */
  static byte[] mutate(Random r, byte[] in) {
    byte[] b = in;
    int n = 1 + r.nextInt(6);
    for (int i = 0; i < n && b.length > 0; i++) {
      int at = r.nextInt(b.length);
      b = switch (r.nextInt(6)) {
        case 0 -> {
          byte[] c = b.clone();
          c[at] ^= (byte) (1 << r.nextInt(8));
          yield c;
        }
        case 1 -> splice(b, at, at, new byte[] {(byte) (int) pick(r, List.of(0, 13, 10, 32, 58,
            0x7f, 0x80, 0xff, 37, 9))});
        case 2 -> splice(b, at, Math.min(b.length, at + 1 + r.nextInt(20)), new byte[0]);
        case 3 -> java.util.Arrays.copyOf(b, at);
        case 4 -> {
          int end = Math.min(b.length, at + 1 + r.nextInt(40));
          yield splice(b, at, at, java.util.Arrays.copyOfRange(b, at, end));
        }
        default -> splice(b, at, at, "\r\n".getBytes(StandardCharsets.US_ASCII));
      };
    }
    return b;
  }

  static byte[] splice(byte[] b, int from, int to, byte[] with) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(b, 0, from);
    out.writeBytes(with);
    out.write(b, to, b.length - to);
    return out.toByteArray();
  }

  /** Whether the request line (up to the first LF) ends in HTTP/1.0 or HTTP/1.1. */
  static boolean supportedVersion(byte[] request) {
    String s = new String(request, StandardCharsets.ISO_8859_1);
    int lf = s.indexOf('\n');
    String line = (lf < 0 ? s : s.substring(0, lf)).strip();
    return line.endsWith(" HTTP/1.1") || line.endsWith(" HTTP/1.0");
  }

  static String latin1(String unicode) {
    return new String(unicode.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
  }

  static <T> T pick(Random r, List<T> from) {
    return from.get(r.nextInt(from.size()));
  }

  /** Bytes as Java-escaped text, cut to {@code max} characters. */
  static String printable(byte[] b, int max) {
    StringBuilder s = new StringBuilder("\"");
    for (int i = 0; i < b.length && s.length() < max; i++) {
      int c = b[i] & 0xff;
      switch (c) {
        case '\r' -> s.append("\\r");
        case '\n' -> s.append("\\n");
        case '\t' -> s.append("\\t");
        case '"' -> s.append("\\\"");
        case '\\' -> s.append("\\\\");
        default -> s.append(c >= 32 && c < 127 ? String.valueOf((char) c) : String.format("\\x%02x", c));
      }
    }
    s.append(b.length > 0 && s.length() >= max ? "\"... (" + b.length + " bytes)" : "\"");
    return s.toString();
  }
}
