package io.pgsidecar.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.EOFException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentConnectionTest {
  @TempDir Path dir;

  @Test
  void aContinueBeforeTheAnswerIsSkipped() throws Exception {
    Path sock = dir.resolve("a.sock");
    try (FakeAgent agent = FakeAgent.onSocket(sock, (r, out) -> {
      out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      FakeAgent.json(out, 201, "{\"id\":\"x\"}");
    })) {
      try (AgentConnection.Response r = AgentConnection.unixSocket(sock)
          .request("POST", "/v1/backups", Map.of("Content-Type", "application/json"),
              "{}".getBytes())) {
        assertEquals(201, r.status());
        assertEquals("application/json", r.header("content-type"));
        assertEquals("{\"id\":\"x\"}", r.bodyText(100));
      }
      assertEquals("2", agent.requests().get(0).headers().get("content-length"));
    }
  }

  @Test
  void aChunkedBodyThatStopsEarlyThrows() throws Exception {
    Path sock = dir.resolve("b.sock");
    try (FakeAgent agent = FakeAgent.onSocket(sock, (r, out) -> out.write(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nwo"
            .getBytes(StandardCharsets.ISO_8859_1)))) {
      try (AgentConnection.Response r = AgentConnection.unixSocket(sock)
          .request("GET", "/x", Map.of(), null)) {
        EOFException e = assertThrows(EOFException.class, () -> r.body().readAllBytes());
        assertEquals("the agent's chunked response ended inside a chunk", e.getMessage());
      }
    }
  }

  @Test
  void aBodyWithoutFramingEndsWithTheConnection() throws Exception {
    Path sock = dir.resolve("c.sock");
    try (FakeAgent agent = FakeAgent.onSocket(sock, (r, out) -> out.write(
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it".getBytes(StandardCharsets.ISO_8859_1)))) {
      try (AgentConnection.Response r = AgentConnection.unixSocket(sock)
          .request("GET", "/x", Map.of(), null)) {
        assertArrayEquals("all of it".getBytes(), r.body().readAllBytes());
      }
    }
  }

  @Test
  void aMissingSocketIsUnavailable() {
    AgentConnection.Unavailable e = assertThrows(AgentConnection.Unavailable.class,
        () -> AgentConnection.unixSocket(dir.resolve("none.sock")).request("GET", "/", Map.of(), null));
    assertEquals("cannot connect to the agent at " + dir.resolve("none.sock")
        + ": No such file or directory", e.getMessage());
  }

  @Test
  void theAgentIsFoundFromFlagsThenEnvironmentThenTheDefault() {
    assertEquals("/pgsidecar/run/agent.sock",
        AgentConnection.resolve(null, null, Map.of()).description());
    assertEquals("/env.sock",
        AgentConnection.resolve(null, null, Map.of("PGSIDECAR_SOCKET", "/env.sock")).description());
    assertEquals("http://127.0.0.1:9",
        AgentConnection.resolve(null, null, Map.of("PGSIDECAR_SOCKET", "/env.sock",
            "PGSIDECAR_URL", "http://127.0.0.1:9")).description());
    assertEquals("/flag.sock",
        AgentConnection.resolve("/flag.sock", null, Map.of("PGSIDECAR_URL", "http://127.0.0.1:9"))
            .description());
    assertEquals("http://127.0.0.1:8",
        AgentConnection.resolve(null, "http://127.0.0.1:8", Map.of()).description());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AgentConnection.resolve(null, "https://127.0.0.1:8", Map.of()));
    assertEquals("agent URL https://127.0.0.1:8 is not of the form http://HOST:PORT (the agent's"
        + " TCP listener speaks plain HTTP)", e.getMessage());
  }
}
