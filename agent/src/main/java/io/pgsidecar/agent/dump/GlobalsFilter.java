package io.pgsidecar.agent.dump;

import java.io.IOException;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Decides which lines of a {@code pg_dumpall --globals-only} script reach the target server.
 *
 * <p>Roles that already exist there (at least the bootstrap superuser, usually {@code postgres})
 * are left exactly as they are: their {@code CREATE ROLE}, {@code ALTER ROLE ... WITH ...
 * PASSWORD} and {@code ALTER ROLE ... SET} lines are skipped. Otherwise restoring globals would
 * overwrite the target's own superuser password with the source's and lock out the very
 * connection doing the restore. New roles come with their password hashes, so they log in to the
 * target with the source's passwords.
 *
 * <p>No psql meta-command ever reaches psql: {@code \!} runs a shell, {@code \o} and {@code \copy}
 * write files, {@code \i} reads them, all as the user running the restore. psql takes a backslash
 * anywhere outside a string literal, quoted identifier or comment as the start of one (also in
 * the middle of a line), so the filter follows psql's lexer across lines: plain, {@code E''} and
 * dollar-quoted strings, quoted identifiers, {@code --} and nested block comments. The
 * &#92;restrict and &#92;unrestrict lines that pg_dumpall writes around its script since
 * 15.14 are dropped (they protect against exactly what this filter refuses); any other
 * meta-command fails the restore ({@link MetaCommandException}). A plain string holding a
 * backslash right before a quote is refused too: psql ends it there when
 * {@code standard_conforming_strings} is on and not when it is off, so where the SQL resumes
 * would depend on a setting the script itself can change.
 */
final class GlobalsFilter {

  /** A line that psql would run as a meta-command, or whose quoting is ambiguous. */
  static final class MetaCommandException extends IOException {
    MetaCommandException(String message) {
      super(message);
    }
  }

  private static final Pattern RESTRICT = Pattern.compile("\\\\(un)?restrict [A-Za-z0-9]+\\s*");

  private enum State { SQL, QUOTE, ESCAPE_QUOTE, IDENTIFIER, DOLLAR, COMMENT }

  private final Set<String> existingRoles;
  private State state = State.SQL;
  private String dollarTag;
  private int commentDepth;
  private long lineNumber;

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

  /**
   * True when the line goes to the target, false when it is skipped; lines must come in order.
   *
   * @throws MetaCommandException when psql would run a meta-command on this line
   */
  boolean keep(String line) throws MetaCommandException {
    lineNumber++;
    boolean atStatementStart = state == State.SQL;
    if (atStatementStart && RESTRICT.matcher(line).matches()) {
      return false;
    }
    scan(line);
    if (!atStatementStart) {
      return true; // the rest of a literal or comment: never a role line of its own
    }
    String role = roleOf(line);
    return role == null || !existingRoles.contains(role);
  }

  /** Whether the script ended outside any literal or comment (a truncated one does not). */
  boolean complete() {
    return state == State.SQL;
  }

  private void scan(String line) throws MetaCommandException {
    int n = line.length();
    for (int i = 0; i < n; i++) {
      char c = line.charAt(i);
      char next = i + 1 < n ? line.charAt(i + 1) : '\0';
      switch (state) {
        case SQL -> {
          if (c == '\\') {
            throw new MetaCommandException("line " + lineNumber + " holds the psql meta-command '"
                + line.substring(i).strip() + "', which pg_dumpall never writes; refusing to run it");
          } else if (c == '-' && next == '-') {
            return; // a comment to the end of the line
          } else if (c == '/' && next == '*') {
            state = State.COMMENT;
            commentDepth = 1;
            i++;
          } else if (c == '\'') {
            boolean escape = i > 0 && (line.charAt(i - 1) == 'E' || line.charAt(i - 1) == 'e')
                && (i < 2 || !identifierChar(line.charAt(i - 2)));
            state = escape ? State.ESCAPE_QUOTE : State.QUOTE;
          } else if (c == '"') {
            state = State.IDENTIFIER;
          } else if (c == '$' && (i == 0 || !identifierChar(line.charAt(i - 1)))) {
            int end = dollarTagEnd(line, i);
            if (end > 0) {
              dollarTag = line.substring(i, end + 1);
              state = State.DOLLAR;
              i = end;
            }
          }
        }
        case QUOTE -> {
          if (c == '\\') {
            int run = 1;
            while (i + run < n && line.charAt(i + run) == '\\') {
              run++;
            }
            if (run % 2 == 1 && i + run < n && line.charAt(i + run) == '\'') {
              throw new MetaCommandException("line " + lineNumber + " holds a string literal with"
                  + " \\' inside, which psql reads differently depending on"
                  + " standard_conforming_strings; refusing to run it");
            }
            i += run - 1;
          } else if (c == '\'') {
            if (next == '\'') {
              i++;
            } else {
              state = State.SQL;
            }
          }
        }
        case ESCAPE_QUOTE -> {
          if (c == '\\') {
            i++;
          } else if (c == '\'') {
            if (next == '\'') {
              i++;
            } else {
              state = State.SQL;
            }
          }
        }
        case IDENTIFIER -> {
          if (c == '"') {
            if (next == '"') {
              i++;
            } else {
              state = State.SQL;
            }
          }
        }
        case DOLLAR -> {
          if (c == '$' && line.startsWith(dollarTag, i)) {
            i += dollarTag.length() - 1;
            state = State.SQL;
          }
        }
        case COMMENT -> {
          if (c == '/' && next == '*') {
            commentDepth++;
            i++;
          } else if (c == '*' && next == '/') {
            i++;
            if (--commentDepth == 0) {
              state = State.SQL;
            }
          }
        }
      }
    }
  }

  /** The index of the closing {@code $} of a dollar-quote tag starting at {@code start}, or -1. */
  private static int dollarTagEnd(String line, int start) {
    for (int j = start + 1; j < line.length(); j++) {
      char c = line.charAt(j);
      if (c == '$') {
        return j;
      }
      boolean ok = Character.isLetter(c) || c == '_' || (j > start + 1 && Character.isDigit(c));
      if (!ok) {
        return -1;
      }
    }
    return -1;
  }

  private static boolean identifierChar(char c) {
    return Character.isLetterOrDigit(c) || c == '_' || c == '$';
  }
}
