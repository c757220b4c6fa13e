package io.pgsidecar.core.restore;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Set;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Writes what makes PostgreSQL start in targeted recovery: {@code recovery.signal} and the
 * restore_command plus recovery_target settings appended to {@code postgresql.auto.conf} (which
 * wins over postgresql.conf and is where ALTER SYSTEM writes, so an operator sees them).
 *
 * <p>Both files are opened without following links and refused unless they are regular files:
 * an archive can hold a link named {@code postgresql.auto.conf}, and writing through it would
 * change whatever it points to. Each is fsynced, and so is the directory.
 *
 * <p>restore_command is quoted twice over: each word for {@code /bin/sh} (single quotes, only
 * when the word needs them) with every {@code %} doubled for PostgreSQL's placeholders, and the
 * whole value for the configuration file ({@link RecoveryTarget#quote}). {@code %f} and
 * {@code %p} stay bare: PostgreSQL puts a WAL file name there and a path relative to the data
 * directory ({@code pg_wal/RECOVERYXLOG}), neither of which holds a space or a quote, whatever
 * the data directory's own path.
 *
 * @param walArchiver path of the wal-archiver launcher inside the PostgreSQL container
 * @param socket the agent's socket as PostgreSQL's container sees it, if not the default
 * @param fromCluster the archive to fetch WAL from when it is not this server's own
 */
public record RecoverySettings(String walArchiver, Optional<String> socket,
    Optional<String> fromCluster) {

  static final String AUTO_CONF = "postgresql.auto.conf";
  static final String SIGNAL = "recovery.signal";
  private static final Pattern PLAIN_WORD = Pattern.compile("[A-Za-z0-9_./:=@+,-]+");

  public String restoreCommand() {
    StringBuilder c = new StringBuilder(word("restore.wal-archiver", walArchiver)).append(" fetch %f %p");
    socket.ifPresent(s -> c.append(" --socket ").append(word("restore.socket", s)));
    fromCluster.ifPresent(n -> c.append(" --cluster ").append(word("restore.from-cluster", n)));
    return c.toString();
  }

  /** One word of restore_command: shell-quoted when needed, then {@code %} doubled. */
  static String word(String what, String s) {
    RecoveryTarget.noControlCharacters(what, s);
    String quoted = PLAIN_WORD.matcher(s).matches() ? s : "'" + s.replace("'", "'\\''") + "'";
    return quoted.replace("%", "%%");
  }

  /**
   * Writes the settings. Recovery lines already in {@code postgresql.auto.conf} are dropped
   * first: a backup taken after an earlier point-in-time restore carries that restore's target,
   * and two target kinds side by side make PostgreSQL refuse to start.
   */
  public void write(Path pgdata, RecoveryTarget target) throws IOException {
    Path auto = pgdata.resolve(AUTO_CONF);
    StringBuilder s = new StringBuilder();
    if (regularOrAbsent(auto)) {
      String old;
      try (InputStream in = Files.newInputStream(auto, LinkOption.NOFOLLOW_LINKS)) {
        old = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      for (String line : old.lines().toList()) {
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
    writeSynced(auto, s.toString().getBytes(StandardCharsets.UTF_8));
    Path signal = pgdata.resolve(SIGNAL);
    regularOrAbsent(signal);
    writeSynced(signal, new byte[0]);
    DataDirectory.fsync(pgdata);
  }

  /** True when {@code p} is a regular file, false when absent; anything else is refused. */
  private static boolean regularOrAbsent(Path p) throws IOException {
    BasicFileAttributes a;
    try {
      a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return false;
    }
    if (!a.isRegularFile()) {
      throw new IOException(p + " is " + (a.isSymbolicLink() ? "a symlink" : "not a regular file")
          + "; refusing to write the recovery settings through it. The backup's data directory"
          + " holds it so: pick another backup, or remove it and run the restore again");
    }
    return true;
  }

  private static void writeSynced(Path p, byte[] content) throws IOException {
    try (FileChannel ch = FileChannel.open(p, Set.<OpenOption>of(StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS))) {
      ByteBuffer b = ByteBuffer.wrap(content);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
  }

  private static boolean isOurs(String line) {
    String t = line.strip();
    return t.equals("# written by pgsidecar restore") || t.startsWith("restore_command")
        || t.startsWith("recovery_target");
  }
}
