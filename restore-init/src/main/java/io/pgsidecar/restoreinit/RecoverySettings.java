package io.pgsidecar.restoreinit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * Writes what makes PostgreSQL start in targeted recovery: {@code recovery.signal} and the
 * restore_command plus recovery_target settings appended to {@code postgresql.auto.conf} (which
 * wins over postgresql.conf and is where ALTER SYSTEM writes, so an operator sees them).
 *
 * @param walArchiver path of the wal-archiver launcher inside the PostgreSQL container
 * @param socket the agent's socket as PostgreSQL's container sees it, if not the default
 * @param fromCluster the archive to fetch WAL from when it is not this server's own
 */
public record RecoverySettings(String walArchiver, Optional<String> socket,
    Optional<String> fromCluster) {

  public String restoreCommand() {
    StringBuilder c = new StringBuilder(walArchiver).append(" fetch %f %p");
    socket.ifPresent(s -> c.append(" --socket ").append(s));
    fromCluster.ifPresent(n -> c.append(" --cluster ").append(n));
    return c.toString();
  }

  /**
   * Writes the settings. Recovery lines already in {@code postgresql.auto.conf} are dropped
   * first: a backup taken after an earlier point-in-time restore carries that restore's target,
   * and two target kinds side by side make PostgreSQL refuse to start.
   */
  public void write(Path pgdata, RecoveryTarget target) throws IOException {
    Path auto = pgdata.resolve("postgresql.auto.conf");
    StringBuilder s = new StringBuilder();
    if (Files.exists(auto)) {
      for (String line : Files.readAllLines(auto, StandardCharsets.UTF_8)) {
        if (!isOurs(line)) {
          s.append(line).append('\n');
        }
      }
      while (s.length() >= 2 && s.charAt(s.length() - 1) == '\n' && s.charAt(s.length() - 2) == '\n') {
        s.setLength(s.length() - 1);
      }
    }
    s.append("\n# written by pgsidecar restore\n");
    RecoveryTarget.line(s, "restore_command", restoreCommand());
    s.append(target.settings());
    Files.writeString(auto, s.toString(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
    Files.write(pgdata.resolve("recovery.signal"), new byte[0], StandardOpenOption.CREATE,
        StandardOpenOption.SYNC);
  }

  private static boolean isOurs(String line) {
    String t = line.strip();
    return t.equals("# written by pgsidecar restore") || t.startsWith("restore_command")
        || t.startsWith("recovery_target");
  }
}
