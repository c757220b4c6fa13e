package io.pgsidecar.agent.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code log.format: json}: every event of the agent's log as one JSON object on one line, for a
 * log collector. The field names are stable: {@code time} (ISO-8601 UTC), {@code level} (the
 * JDK's: {@code SEVERE}, {@code WARNING}, {@code INFO}, {@code FINE}...), {@code logger} (the
 * class), {@code message}, {@code thread}; {@code segment} (the first WAL file name the message
 * names), {@code backup} or {@code dump} (the id after "base backup" or "dump") when the message
 * names one; {@code error} (the exception's class and message) and {@code stack} (its trace, as
 * one string) when the event carries an exception.
 */
final class JsonLogFormat extends Formatter {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern SEGMENT = Pattern.compile(
      "\\b([0-9A-F]{24}(?:\\.partial|\\.[0-9A-F]{8}\\.backup)?|[0-9A-F]{8}\\.history)\\b");
  private static final Pattern JOB = Pattern.compile("\\b(base backup|dump) (\\d{8}T\\d{6}Z\\S*?)\\b");

  /** Puts this format on every handler of the root logger (the JDK's console handler on stderr). */
  static void install() {
    JsonLogFormat format = new JsonLogFormat();
    for (Handler h : Logger.getLogger("").getHandlers()) {
      h.setFormatter(format);
    }
  }

  @Override
  public String format(LogRecord r) {
    ObjectNode n = JSON.createObjectNode();
    n.put("time", Instant.ofEpochMilli(r.getMillis()).toString());
    n.put("level", r.getLevel().getName());
    n.put("logger", r.getLoggerName());
    String message = formatMessage(r);
    n.put("message", message);
    n.put("thread", Thread.currentThread().getName());
    Matcher segment = SEGMENT.matcher(message);
    if (segment.find()) {
      n.put("segment", segment.group(1));
    }
    Matcher job = JOB.matcher(message);
    if (job.find()) {
      n.put(job.group(1).equals("dump") ? "dump" : "backup", job.group(2));
    }
    if (r.getThrown() != null) {
      n.put("error", r.getThrown().toString());
      StringWriter trace = new StringWriter();
      r.getThrown().printStackTrace(new PrintWriter(trace));
      n.put("stack", trace.toString());
    }
    try {
      return JSON.writeValueAsString(n) + System.lineSeparator();
    } catch (JsonProcessingException e) {
      return "{\"level\":\"SEVERE\",\"message\":\"cannot write a log event as JSON\"}"
          + System.lineSeparator();
    }
  }
}
