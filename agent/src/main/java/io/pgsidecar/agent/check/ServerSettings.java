package io.pgsidecar.agent.check;

import io.pgsidecar.core.job.JobException.Kind;
import java.util.List;

/** The checks of {@code pgsidecar check} that read only PostgreSQL's archive settings. */
final class ServerSettings {

  private ServerSettings() {}

  static Check archiveMode(PostgresFacts.Server server) {
    String mode = server.archiveMode();
    if (mode.equals("on") || mode.equals("always")) {
      return Check.ok("archive-mode", "archive_mode is " + mode);
    }
    return Check.fail("archive-mode", Kind.INVALID_INPUT, "archive_mode is '" + mode + "': set"
        + " archive_mode = on in postgresql.conf and restart PostgreSQL");
  }

  static Check archiveCommand(PostgresFacts.Server server) {
    String command = server.archiveCommand();
    if (callsOurClient(command)) {
      return Check.ok("archive-command", "archive_command is '" + command + "'");
    }
    return Check.fail("archive-command", Kind.INVALID_INPUT, "archive_command is '" + command
        + "', which does not call the pgsidecar WAL client: set archive_command ="
        + " '/pgsidecar/bin/wal-archiver push %p' (the client's path on this server) in"
        + " postgresql.conf and reload PostgreSQL");
  }

  /**
   * Whether {@code command} runs our client's push: a word naming {@code wal-archiver} (the
   * launcher or the static client, at any path) or its Java class, later followed by {@code push}
   * and {@code %p}.
   */
  static boolean callsOurClient(String command) {
    List<String> words = List.of(command.trim().split("\\s+"));
    for (int i = 0; i < words.size(); i++) {
      String w = words.get(i).replace("'", "").replace("\"", "");
      if (w.endsWith("/wal-archiver") || w.equals("wal-archiver")
          || w.equals("io.pgsidecar.walarchiver.WalArchiver")) {
        List<String> rest = words.subList(i + 1, words.size());
        return rest.contains("push") && rest.stream().anyMatch(r -> r.contains("%p"));
      }
    }
    return false;
  }
}
