package io.pgsidecar.agent.dump;

import java.nio.charset.StandardCharsets;

/** How a dump names what it stores: object names of databases, checksums, the agent version. */
final class DumpNames {

  private DumpNames() {}

  /**
   * Database names may hold any character; keys keep letters, digits, {@code _ . -} and
   * percent-encode the rest (UTF-8), so {@code a/b} cannot open a folder.
   */
  static String objectName(String database) {
    StringBuilder sb = new StringBuilder();
    for (byte b : database.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '_' || c == '-' || (c == '.' && sb.length() > 0)) {
        sb.append(c);
      } else {
        sb.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return sb.toString();
  }

  static String sha256(byte[] bytes) {
    try {
      return java.util.HexFormat.of().formatHex(
          java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static String agentVersion() {
    String v = DumpNames.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
