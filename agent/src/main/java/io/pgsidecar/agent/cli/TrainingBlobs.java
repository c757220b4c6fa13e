package io.pgsidecar.agent.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A throw-away Azure Blob endpoint for the {@link Training} run, on a loopback port: enough of
 * the REST API (list, ranged get, properties, 404 BlobNotFound) that the Azure SDK and our driver
 * load the classes a real restore loads. Read-only, in memory, one container; not a test double
 * for anything else (tests use Azurite).
 */
final class TrainingBlobs implements AutoCloseable {

  private static final DateTimeFormatter RFC_1123 = DateTimeFormatter.RFC_1123_DATE_TIME;
  private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");

  private final Map<String, byte[]> blobs = new TreeMap<>();
  private final String modified = RFC_1123.format(ZonedDateTime.now(ZoneOffset.UTC).withNano(0));
  private final HttpServer server;
  private final String container;

  TrainingBlobs(String container) throws IOException {
    this.container = container;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.createContext("/", this::handle);
    server.start();
  }

  /** The blob endpoint, e.g. {@code http://127.0.0.1:PORT/devstoreaccount1}. */
  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/devstoreaccount1";
  }

  void put(String key, byte[] content) {
    synchronized (blobs) {
      blobs.put(key, content);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private void handle(HttpExchange x) throws IOException {
    try (x) {
      x.getRequestBody().readAllBytes();
      String path = x.getRequestURI().getRawPath();
      String query = x.getRequestURI().getRawQuery() == null ? "" : x.getRequestURI().getRawQuery();
      String base = "/devstoreaccount1/" + container;
      if (path.equals(base) && query.contains("comp=list")) {
        list(x, param(query, "prefix"));
      } else if (path.startsWith(base + "/")) {
        blob(x, URLDecoder.decode(path.substring(base.length() + 1), StandardCharsets.UTF_8));
      } else {
        error(x, 404, "ContainerNotFound");
      }
    }
  }

  private void list(HttpExchange x, String prefix) throws IOException {
    StringBuilder xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?>"
        + "<EnumerationResults ServiceEndpoint=\"" + endpoint() + "/\" ContainerName=\""
        + container + "\"><Prefix>" + prefix + "</Prefix><MaxResults>1000</MaxResults><Blobs>");
    synchronized (blobs) {
      blobs.forEach((key, content) -> {
        if (key.startsWith(prefix)) {
          xml.append("<Blob><Name>").append(key).append("</Name><Properties><Last-Modified>")
              .append(modified).append("</Last-Modified><Etag>0x1</Etag><Content-Length>")
              .append(content.length).append("</Content-Length><BlobType>BlockBlob</BlobType>")
              .append("</Properties><Metadata /></Blob>");
        }
      });
    }
    xml.append("</Blobs><NextMarker /></EnumerationResults>");
    send(x, 200, "application/xml", xml.toString().getBytes(StandardCharsets.UTF_8));
  }

  private void blob(HttpExchange x, String key) throws IOException {
    byte[] content;
    synchronized (blobs) {
      content = blobs.get(key);
    }
    if (content == null) {
      error(x, 404, "BlobNotFound");
      return;
    }
    var h = x.getResponseHeaders();
    h.set("ETag", "\"0x1\"");
    h.set("Last-Modified", modified);
    h.set("x-ms-blob-type", "BlockBlob");
    h.set("Accept-Ranges", "bytes");
    if (x.getRequestMethod().equals("HEAD")) {
      h.set("Content-Length", Integer.toString(content.length));
      x.sendResponseHeaders(200, -1);
      return;
    }
    String range = x.getRequestHeaders().getFirst("x-ms-range");
    Matcher m = range == null ? null : RANGE.matcher(range);
    if (m == null || !m.matches()) {
      send(x, 200, "application/octet-stream", content);
      return;
    }
    int from = (int) Math.min(Long.parseLong(m.group(1)), content.length);
    int to = m.group(2).isEmpty() ? content.length - 1
        : (int) Math.min(Long.parseLong(m.group(2)), content.length - 1L);
    h.set("Content-Range", "bytes " + from + "-" + to + "/" + content.length);
    byte[] part = java.util.Arrays.copyOfRange(content, from, to + 1);
    send(x, 206, "application/octet-stream", part);
  }

  private static void error(HttpExchange x, int status, String code) throws IOException {
    x.getResponseHeaders().set("x-ms-error-code", code);
    send(x, status, "application/xml", ("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>"
        + code + "</Code><Message>training</Message></Error>").getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange x, int status, String type, byte[] body) throws IOException {
    x.getResponseHeaders().set("Content-Type", type);
    x.getResponseHeaders().set("x-ms-version", "2025-01-05");
    x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(body);
    }
  }

  private static String param(String query, String name) {
    for (String kv : query.split("&")) {
      if (kv.startsWith(name + "=")) {
        return URLDecoder.decode(kv.substring(name.length() + 1), StandardCharsets.UTF_8);
      }
    }
    return "";
  }
}
