package io.pgsidecar.protocol;

/**
 * Which file names PostgreSQL hands to archive_command and restore_command, checked before the
 * agent is contacted so that a typo in postgresql.conf fails loudly (exit 2) instead of asking
 * the archive for nonsense. Plain character tests, no regex: this runs at every call.
 */
public final class WalName {
  private WalName() {}

  /**
   * True for a WAL segment ({@code 000000010000000000000003}), a timeline history file
   * ({@code 00000002.history}), a partial segment ({@code <segment>.partial}) or a backup
   * history file ({@code <segment>.<8 hex>.backup}), on timeline 1 or later.
   */
  public static boolean isValid(String name) {
    // timelines start at 1: 00000000 is never a name PostgreSQL produces
    return name.length() >= 16 && !name.startsWith("00000000") && isWellFormed(name);
  }

  private static boolean isWellFormed(String name) {
    int n = name.length();
    if (n == 24) {
      return isHex(name, 0, 24);
    }
    if (n == 16 && name.endsWith(".history")) {
      return isHex(name, 0, 8);
    }
    if (n == 32 && name.endsWith(".partial")) {
      return isHex(name, 0, 24);
    }
    if (n == 40 && name.endsWith(".backup")) {
      return isHex(name, 0, 24) && name.charAt(24) == '.' && isHex(name, 25, 33);
    }
    return false;
  }

  /** Upper-case hex only: PostgreSQL writes names with %08X. */
  private static boolean isHex(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
        return false;
      }
    }
    return true;
  }

  /** The last path element of {@code path} ({@code pg_wal/X} gives {@code X}). */
  public static String baseName(String path) {
    int slash = path.lastIndexOf('/');
    return slash >= 0 ? path.substring(slash + 1) : path;
  }
}
