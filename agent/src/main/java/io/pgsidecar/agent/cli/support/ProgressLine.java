package io.pgsidecar.agent.cli.support;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * Progress of long work on the CLI: bytes, rate, and the ETA when the total is known. On a
 * terminal ({@code --progress=auto} with a console, or {@code always}) one line is redrawn in
 * place; otherwise ({@code auto} without a console, e.g. a pipe or a CI log) a plain line every
 * {@code every}, the first one {@code every} after the work began (short work prints none);
 * {@code never} prints nothing. Callers pass stderr when {@code --output json}, so
 * stdout stays one JSON document.
 */
public final class ProgressLine {

  /** The {@code --progress} option. */
  public enum Mode { auto, always, never }

  private final PrintWriter out;
  private final boolean redraw;
  private final boolean off;
  private final long everyNanos;
  private Long lastLine;
  private boolean drawn;

  public ProgressLine(Mode mode, PrintWriter out, boolean console, Duration every) {
    this.out = out;
    this.off = mode == Mode.never;
    this.redraw = mode == Mode.always || (mode == Mode.auto && console);
    this.everyNanos = every.toNanos();
  }

  /** The production choice: a console is {@code System.console() != null}, lines every 10 s. */
  public static ProgressLine of(Mode mode, PrintWriter out) {
    return new ProgressLine(mode, out, System.console() != null, Duration.ofSeconds(10));
  }

  /**
   * Shows {@code bytes} done of {@code total} (when known) after {@code elapsed}; {@code nowNanos}
   * ({@link System#nanoTime}) decides whether a plain line is due.
   */
  public void update(String what, long bytes, OptionalLong total, Duration elapsed, long nowNanos) {
    if (off) {
      return;
    }
    String line = text(what, bytes, total, elapsed);
    if (redraw) {
      out.print("\r" + line + "\033[K");
      drawn = true;
      out.flush();
    } else if (lastLine == null) {
      lastLine = nowNanos; // work shorter than one interval prints no line
    } else if (nowNanos - lastLine >= everyNanos) {
      out.println(line);
      out.flush();
      lastLine = nowNanos;
    }
  }

  /**
   * Shows {@code bytes} done (total unknown) of work that began at {@code startedAt} (ISO-8601,
   * as a job's progress document gives it), now.
   */
  public void update(String what, long bytes, String startedAt) {
    update(what, bytes, OptionalLong.empty(), Duration.between(java.time.Instant.parse(startedAt),
        java.time.Instant.now()), System.nanoTime());
  }

  /** Ends a redrawn line, so what follows starts on its own. */
  public void finish() {
    if (drawn) {
      out.println();
      out.flush();
      drawn = false;
    }
  }

  /** {@code what: 1.5 GiB, 12.0 MiB/s} and, with a total, {@code of 4.0 GiB (37%), ETA 3m25s}. */
  static String text(String what, long bytes, OptionalLong total, Duration elapsed) {
    double secs = Math.max(0.001, elapsed.toMillis() / 1000.0);
    double rate = bytes / secs;
    StringBuilder sb = new StringBuilder(what).append(": ").append(CliText.size(bytes))
        .append(", ").append(CliText.size((long) rate)).append("/s");
    if (total.isPresent() && total.getAsLong() > 0) {
      long t = total.getAsLong();
      sb.append(" of ").append(CliText.size(t)).append(String.format(Locale.ROOT, " (%d%%)",
          Math.min(100, bytes * 100 / t)));
      if (rate >= 1 && bytes < t) {
        sb.append(", ETA ").append(eta((long) Math.ceil((t - bytes) / rate)));
      }
    }
    return sb.toString();
  }

  private static String eta(long seconds) {
    if (seconds >= 3600) {
      return seconds / 3600 + "h" + String.format(Locale.ROOT, "%02dm", seconds % 3600 / 60);
    }
    if (seconds >= 60) {
      return seconds / 60 + "m" + String.format(Locale.ROOT, "%02ds", seconds % 60);
    }
    return seconds + "s";
  }
}
