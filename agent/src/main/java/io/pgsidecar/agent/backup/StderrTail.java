package io.pgsidecar.agent.backup;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/** The last lines a child program wrote to stderr, each also logged: what its failure says. */
final class StderrTail {

  private static final System.Logger LOG = System.getLogger(BackupRun.class.getName());

  private final String program;
  private final int kept;
  private final ArrayDeque<String> lines = new ArrayDeque<>();

  StderrTail(String program, int kept) {
    this.program = program;
    this.kept = kept;
  }

  /** Reads {@code err} to its end (on a thread of its own), logging each line for backup {@code id}. */
  void capture(InputStream err, String id) {
    try (var r = new BufferedReader(new InputStreamReader(err, StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        LOG.log(Level.INFO, "base backup {0}: {1}: {2}", id, program, line);
        synchronized (lines) {
          lines.addLast(line);
          if (lines.size() > kept) {
            lines.removeFirst();
          }
        }
      }
    } catch (IOException e) {
      LOG.log(Level.DEBUG, "{0} stderr closed: {1}", program, e.toString());
    }
  }

  /** The kept lines joined with " / ", or a note that there were none. */
  String summary() {
    synchronized (lines) {
      return lines.isEmpty() ? "(no output on stderr)" : String.join(" / ", lines);
    }
  }
}
