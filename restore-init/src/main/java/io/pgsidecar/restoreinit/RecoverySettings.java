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

  public void write(Path pgdata, RecoveryTarget target) throws IOException {
    StringBuilder s = new StringBuilder("\n# written by pgsidecar restore\n");
    RecoveryTarget.line(s, "restore_command", restoreCommand());
    s.append(target.settings());
    Files.writeString(pgdata.resolve("postgresql.auto.conf"), s.toString(), StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.SYNC);
    Files.write(pgdata.resolve("recovery.signal"), new byte[0], StandardOpenOption.CREATE,
        StandardOpenOption.SYNC);
  }
}
