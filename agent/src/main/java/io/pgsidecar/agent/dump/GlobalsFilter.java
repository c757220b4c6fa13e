package io.pgsidecar.agent.dump;

import java.util.Set;

/**
 * Decides which lines of a {@code pg_dumpall --globals-only} script reach the target server.
 * Roles that already exist there (at least the bootstrap superuser, usually {@code postgres})
 * are left exactly as they are: their {@code CREATE ROLE}, {@code ALTER ROLE ... WITH ...
 * PASSWORD} and {@code ALTER ROLE ... SET} lines are skipped. Otherwise restoring globals would
 * overwrite the target's own superuser password with the source's and lock out the very
 * connection doing the restore. New roles come with their password hashes, so they log in to the
 * target with the source's passwords.
 */
final class GlobalsFilter {

  private final Set<String> existingRoles;

  GlobalsFilter(Set<String> existingRoles) {
    this.existingRoles = existingRoles;
  }

  /** The role a line creates or alters, or null when the line is about something else. */
  static String roleOf(String line) {
    String rest;
    if (line.startsWith("CREATE ROLE ")) {
      rest = line.substring("CREATE ROLE ".length());
    } else if (line.startsWith("ALTER ROLE ")) {
      rest = line.substring("ALTER ROLE ".length());
    } else {
      return null;
    }
    if (rest.startsWith("\"")) {
      StringBuilder name = new StringBuilder();
      for (int i = 1; i < rest.length(); i++) {
        char c = rest.charAt(i);
        if (c == '"') {
          if (i + 1 < rest.length() && rest.charAt(i + 1) == '"') {
            name.append('"');
            i++;
          } else {
            return name.toString();
          }
        } else {
          name.append(c);
        }
      }
      return null;
    }
    int end = 0;
    while (end < rest.length() && rest.charAt(end) != ' ' && rest.charAt(end) != ';') {
      end++;
    }
    return rest.substring(0, end);
  }

  /** True when the line goes to the target. */
  boolean keep(String line) {
    String role = roleOf(line);
    return role == null || !existingRoles.contains(role);
  }
}
