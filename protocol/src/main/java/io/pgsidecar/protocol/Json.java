package io.pgsidecar.protocol;

/**
 * The little JSON the WAL client needs: quote a string for a request body, and pull the error
 * text out of an agent's error body. Hand-written because a JSON library would cost more
 * start-up time than the whole command.
 */
public final class Json {
  private Json() {}

  public static String quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append("\\u00").append(Character.forDigit(c >> 4, 16))
                .append(Character.forDigit(c & 15, 16));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }

  /**
   * The {@code "error"} (or else {@code "message"}) string of a JSON object body, which is how
   * the agent words a failure, followed by the whole body when it holds more (the agent adds
   * details such as both checksums of a conflicting segment); otherwise the body itself,
   * trimmed; "(no message)" when empty.
   */
  public static String errorMessage(String body) {
    String t = body.trim();
    if (t.startsWith("{")) {
      String m = stringField(t, "error");
      if (m == null) {
        m = stringField(t, "message");
      }
      if (m != null) {
        return moreThanOneField(t) ? m + " " + t : m;
      }
    }
    return t.isEmpty() ? "(no message)" : t;
  }

  /** Roughly: a second {@code ":} (end of a key) appears outside the first value. */
  private static boolean moreThanOneField(String json) {
    int first = json.indexOf("\":");
    return first >= 0 && json.indexOf(",\"", first) >= 0;
  }

  /** The string value of a top-level-looking {@code "key": "..."}, or null. */
  public static String stringField(String json, String key) {
    String k = "\"" + key + "\"";
    int at = json.indexOf(k);
    while (at >= 0) {
      int i = skipSpaces(json, at + k.length());
      if (i < json.length() && json.charAt(i) == ':') {
        i = skipSpaces(json, i + 1);
        if (i < json.length() && json.charAt(i) == '"') {
          return unquote(json, i + 1);
        }
        return null;
      }
      at = json.indexOf(k, at + 1);
    }
    return null;
  }

  private static int skipSpaces(String s, int i) {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  private static String unquote(String s, int i) {
    StringBuilder sb = new StringBuilder();
    while (i < s.length()) {
      char c = s.charAt(i++);
      if (c == '"') {
        return sb.toString();
      }
      if (c != '\\' || i >= s.length()) {
        sb.append(c);
        continue;
      }
      char e = s.charAt(i++);
      switch (e) {
        case 'n' -> sb.append('\n');
        case 't' -> sb.append('\t');
        case 'r' -> sb.append('\r');
        case 'b' -> sb.append('\b');
        case 'f' -> sb.append('\f');
        case 'u' -> {
          if (i + 4 <= s.length()) {
            int v = 0;
            for (int j = 0; j < 4; j++) {
              v = v * 16 + Math.max(0, Character.digit(s.charAt(i + j), 16));
            }
            sb.append((char) v);
            i += 4;
          }
        }
        default -> sb.append(e); // \" \\ \/
      }
    }
    return sb.toString(); // unterminated: best effort for an error message
  }
}
