package io.pgsidecar.agent.status;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgsidecar.agent.cli.support.CliText;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The status document of {@link StatusCommand} as a few lines for people: one line per subject,
 * its name in the first column, ages as people say them ({@code 12 s ago}, {@code 3 h ago}).
 */
final class StatusText {

  private StatusText() {}

  static void print(JsonNode doc, PrintWriter out) {
    JsonNode agent = doc.path("agent");
    line(out, "cluster", doc.path("cluster").asText() + " in " + doc.path("storage").path("archive")
        .asText("(storage not readable)"));
    line(out, "agent", agent.path("reachable").asBoolean()
        ? "answers on " + agent.path("socket").asText()
        : agent.path("socket").isNull() ? "not asked: " + agent.path("error").asText()
        : "NOT REACHABLE: " + agent.path("error").asText());
    if (!doc.path("storage").path("error").isNull()) {
      line(out, "storage", "NOT READABLE: " + doc.path("storage").path("error").asText());
    }

    JsonNode wal = doc.path("wal");
    String backlog = wal.path("readyBacklog").isNumber()
        ? wal.path("readyBacklog").asInt() + " segments waiting (.ready)" : "backlog unknown";
    line(out, "wal", wal.path("lastArchivedSegment").isNull() ? "nothing archived yet; " + backlog
        : "last archived " + wal.path("lastArchivedSegment").asText() + " at "
            + wal.path("lastArchivedAt").asText() + " (" + age(wal.path("lastArchivedAgeSeconds")
            .asLong()) + "); " + backlog);

    JsonNode backups = doc.path("backups");
    line(out, "base backup", job(backups) + (backups.path("complete").isNumber()
        ? "; " + backups.path("complete").asInt() + " complete in storage" : ""));
    line(out, "dump", job(doc.path("dumps")));
    if (doc.has("retention")) {
      line(out, "retention", retention(doc.path("retention")));
    }
    if (doc.has("restoreDrill")) {
      line(out, "restore drill", drill(doc.path("restoreDrill")));
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = doc.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> part = it.next();
      if (part.getValue().isObject() && part.getValue().has("last")
          && !List.of("backups", "dumps", "restoreDrill").contains(part.getKey())) {
        line(out, part.getKey(), job(part.getValue()));
      }
    }

    JsonNode r = doc.path("recoverable");
    line(out, "recoverable", r.isNull() || r.isMissingNode()
        ? "nothing yet: a point-in-time restore needs a complete base backup and its WAL"
        : "from " + r.path("from").asText() + " (end of backup " + r.path("firstBackup").asText()
            + ") to " + r.path("to").asText() + " (segment " + r.path("lastSegment").asText()
            + "): " + age(r.path("seconds").asLong()).replace(" ago", ""));

    JsonNode storage = doc.path("storage");
    if (storage.has("wal")) {
      List<String> kinds = new ArrayList<>();
      for (String[] k : new String[][] {{"baseBackups", "base backups"}, {"dumps", "dumps"},
          {"wal", "WAL"}, {"other", "other"}}) {
        JsonNode u = storage.path(k[0]);
        kinds.add(k[1] + " " + CliText.size(u.path("bytes").asLong()) + " in "
            + u.path("objects").asLong() + (u.path("objects").asLong() == 1 ? " object" : " objects"));
      }
      line(out, "storage used", String.join(", ", kinds));
    }

    JsonNode errors = doc.path("errors");
    line(out, "errors", errors.isEmpty() ? "none since the agent started"
        : errors.size() + " recent, newest at " + errors.get(0).path("at").asText() + ": "
            + errors.get(0).path("operation").asText() + ": " + errors.get(0).path("message").asText());
  }

  /** The retention part: off, or its last run and what it removed, and the last failure. */
  private static String retention(JsonNode part) {
    if (!part.path("enabled").asBoolean()) {
      return "off: no retention.* rule is set, nothing is removed";
    }
    String last = part.has("lastRun")
        ? "last run at " + part.path("lastRun").asText() + " (" + part.path("trigger").asText()
            + "): removed " + part.path("removedObjects").asLong() + " objects ("
            + CliText.size(part.path("removedBytes").asLong()) + ")"
        : "no run since the agent started";
    return part.hasNonNull("lastFailure") ? last + "; last failure: " + part.path("lastFailure")
        .asText() : last;
  }

  /** The restore drill's part: running, none yet, or the last outcome. */
  private static String drill(JsonNode part) {
    String running = part.path("running").asBoolean() ? "running now; " : "";
    JsonNode last = part.path("last");
    if (!last.has("result")) {
      return running + "none recorded";
    }
    String at = "at " + last.path("startTime").asText() + " (" + last.path("durationMillis")
        .asLong() + " ms" + (last.path("by").asText().equals("job") ? ", by the drill CronJob" : "")
        + ")";
    return running + (last.path("result").asText().equals("success")
        ? "last success " + at + " restored backup " + last.path("backup").asText()
            + " to consistency; window " + last.path("windowSeconds").asLong() + " s"
        : "last FAILED " + at + ": " + last.path("error").asText());
  }

  /** A job's part: the running one, else the last and how it ended, and the next scheduled run. */
  private static String job(JsonNode part) {
    StringBuilder s = new StringBuilder();
    JsonNode running = part.path("running");
    if (running.isObject()) {
      s.append("running ").append(running.path("id").asText()).append("; ");
    }
    JsonNode last = part.path("last");
    if (!last.isObject()) {
      s.append("none yet");
    } else {
      s.append("last ").append(last.path("id").asText()).append(' ')
          .append(last.path("result").asText()).append(" at ")
          .append(last.path("finishedAt").asText(last.path("at").asText()));
      if (last.path("storedBytes").isNumber()) {
        s.append(" (").append(CliText.size(last.path("storedBytes").asLong())).append(" stored)");
      }
      if (last.hasNonNull("error")) {
        s.append(": ").append(last.path("error").asText());
      }
    }
    if (part.hasNonNull("nextScheduledRun")) {
      s.append("; next ").append(part.path("nextScheduledRun").asText());
    }
    return s.toString();
  }

  static String age(long seconds) {
    if (seconds < 120) {
      return seconds + " s ago";
    }
    if (seconds < 7200) {
      return seconds / 60 + " min ago";
    }
    if (seconds < 172800) {
      return seconds / 3600 + " h ago";
    }
    return seconds / 86400 + " days ago";
  }

  private static void line(PrintWriter out, String subject, String text) {
    out.printf("%-13s %s%n", subject, text);
  }
}
