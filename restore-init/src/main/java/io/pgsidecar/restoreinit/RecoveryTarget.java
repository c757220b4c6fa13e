package io.pgsidecar.restoreinit;

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
    s.append(key).append(" = '").append(value.replace("'", "''")).append("'\n");
  }
}
