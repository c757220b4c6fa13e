package io.pgsidecar.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class JsonTest {
  @Test
  void theAgentsErrorFieldIsTheMessage() {
    assertEquals("PGDATA holds no server yet",
        Json.errorMessage("{\"error\": \"PGDATA holds no server yet\"}\n"));
    assertEquals("quote \" and\nnewline", Json.errorMessage("{\"error\":\"quote \\\" and\\nnewline\"}"));
    assertEquals("from message", Json.errorMessage("{\"message\":\"from message\"}"));
  }

  @Test
  void detailsBesideTheErrorAreKept() {
    String body = "{\"error\":\"conflict\",\"localSha256\":\"ab\"}";
    assertEquals("conflict " + body, Json.errorMessage(body));
  }

  @Test
  void aBodyThatIsNotJsonIsShownAsIs() {
    assertEquals("Bad Gateway", Json.errorMessage("  Bad Gateway\n"));
    assertEquals("(no message)", Json.errorMessage(""));
  }

  @Test
  void quotingEscapesWhatJsonRequires() {
    assertEquals("\"pg_wal/a\\\"b\\\\c\\n\\u0001\"", Json.quote("pg_wal/a\"b\\c\n\u0001"));
  }
}
