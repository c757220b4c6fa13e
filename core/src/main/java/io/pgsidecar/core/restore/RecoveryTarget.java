package io.pgsidecar.core.restore;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Where recovery should stop, in PostgreSQL's own terms (the {@code recovery_target_*}
 * settings). {@link Kind#LATEST} replays everything the archive holds.
 */
public record RecoveryTarget(Kind kind, String value, boolean exclusive, Action action,
    String timeline) {

  public enum Kind { LATEST, TIME, LSN, XID, NAME, IMMEDIATE }

  public enum Action {
    PROMOTE, PAUSE, SHUTDOWN;

    String setting() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public RecoveryTarget {
    Objects.requireNonNull(kind, "kind");
    action = action == null ? Action.PROMOTE : action;
    timeline = timeline == null || timeline.isBlank() ? "latest" : timeline;
    if (!timeline.equals("latest") && !timeline.equals("current") && !timeline.matches("[0-9]+")) {
      throw new IllegalArgumentException("target timeline '" + timeline
          + "': expected latest, current or a timeline number");
    }
    if ((kind == Kind.LATEST || kind == Kind.IMMEDIATE) != (value == null)) {
      throw new IllegalArgumentException("recovery target " + kind.name().toLowerCase(java.util.Locale.ROOT)
          + (value == null ? " needs a value" : " takes no value"));
    }
    validate(kind, value);
  }

  /** Refuses values PostgreSQL would refuse (or read as something else) before anything is written. */
  private static void validate(Kind kind, String value) {
    switch (kind) {
      case LSN -> {
        if (!value.matches("[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")) {
          throw new IllegalArgumentException("target LSN '" + value + "': expected e.g. 0/3000028");
        }
      }
      case XID -> {
        if (!value.matches("[0-9]{1,20}")) {
          throw new IllegalArgumentException("target xid '" + value
              + "': expected a transaction id, e.g. 1234");
        }
      }
      case NAME -> {
        noControlCharacters("target name", value);
        // PostgreSQL's restore points: MAXFNAMELEN - 1 bytes
        if (value.isEmpty() || value.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 63) {
          throw new IllegalArgumentException("target name '" + value + "': a restore point name"
              + " has 1 to 63 bytes");
        }
      }
      default -> { }
    }
  }

  /** A configuration-file string cannot hold a line break or another control character. */
  static void noControlCharacters(String what, String value) {
    for (int i = 0; i < value.length(); i++) {
      if (Character.isISOControl(value.charAt(i))) {
        throw new IllegalArgumentException(what + " '" + value.replaceAll("\\p{Cntrl}", "?")
            + "' holds a control character (position " + (i + 1) + "); refusing");
      }
    }
  }

  public static RecoveryTarget latest() {
    return new RecoveryTarget(Kind.LATEST, null, false, Action.PROMOTE, "latest");
  }

  /** The moment as an instant, for {@link Kind#TIME}. */
  public Optional<Instant> time() {
    return kind == Kind.TIME ? Optional.of(TargetTimes.parse(value)) : Optional.empty();
  }

  /** For messages: {@code time 2026-11-22T02:15:00Z (inclusive), then promote}. */
  public String describe() {
    String k = kind.name().toLowerCase(java.util.Locale.ROOT);
    return switch (kind) {
      case LATEST -> "latest (end of the archive)";
      case IMMEDIATE -> "immediate (end of the backup), then " + action.setting();
      default -> k + " " + value + (exclusive ? " (exclusive)" : " (inclusive)") + ", then "
          + action.setting();
    } + (timeline.equals("latest") ? "" : ", timeline " + timeline);
  }

  /** Lines for postgresql.auto.conf (without restore_command). */
  public String settings() {
    StringBuilder s = new StringBuilder();
    switch (kind) {
      case TIME -> line(s, "recovery_target_time", TargetTimes.forPostgres(TargetTimes.parse(value)));
      case LSN -> line(s, "recovery_target_lsn", value);
      case XID -> line(s, "recovery_target_xid", value);
      case NAME -> line(s, "recovery_target_name", value);
      case IMMEDIATE -> line(s, "recovery_target", "immediate");
      case LATEST -> { }
    }
    if (kind != Kind.LATEST && kind != Kind.IMMEDIATE) {
      line(s, "recovery_target_inclusive", exclusive ? "off" : "on");
    }
    if (kind != Kind.LATEST) {
      line(s, "recovery_target_action", action.setting());
    }
    line(s, "recovery_target_timeline", timeline);
    return s.toString();
  }

  static void line(StringBuilder s, String key, String value) {
    s.append(key).append(" = ").append(quote(value)).append('\n');
  }

  /**
   * A string as PostgreSQL's configuration file reads it back unchanged: single quotes around,
   * a quote doubled, a backslash doubled (the parser reads {@code \n}, {@code \'} and octal
   * escapes inside quotes, so a lone backslash would change the value or swallow the closing
   * quote).
   */
  static String quote(String value) {
    noControlCharacters("setting value", value);
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
  }
}
