package io.pgsidecar.agent.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.job.JobException.Kind;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.wal.WalFileName;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * {@code pgsidecar check}, the domain part: is this pod's archiving set up end to end, the way
 * {@code pgbackrest check} asks it. Each step is one {@link Check}, run in order; a step whose
 * input an earlier one could not give is {@link Result#SKIP}ped, never guessed:
 * <ol>
 *   <li>{@code storage}: reachable ({@link Storage#probe}) and writable: a probe object under the
 *       cluster's own {@code check/} folder is written, read back by its metadata and deleted;
 *       no other key is touched;</li>
 *   <li>{@code agent}: the running agent answers on its admin socket;</li>
 *   <li>{@code postgres}: the server answers a query ({@link PostgresFacts});</li>
 *   <li>{@code cluster}: {@code cluster.json} holds this server's system identifier (absent: the
 *       first archived segment writes it);</li>
 *   <li>{@code archive-mode} and {@code archive-command}: {@code on} (or {@code always}), and the
 *       command calls our WAL client ({@code wal-archiver push});</li>
 *   <li>{@code archiving}: {@code pg_switch_wal()} closes a segment, which must arrive in storage
 *       within the deadline.</li>
 * </ol>
 * Nothing here knows HTTP or picocli; {@code CheckCommand} prints the checks and maps the first
 * failure's {@link Kind} to the exit code.
 */
public final class CheckService {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  /** How often storage is looked at while waiting for the switched segment. */
  static final Duration POLL = Duration.ofMillis(250);

  /** What one check found. */
  public enum Result { OK, FAIL, SKIP }

  /**
   * One line of the report.
   *
   * @param name the check ({@code storage}, {@code archive-command})
   * @param message what was found; for a failure also what to do
   * @param kind for a failure, its cause (the CLI's exit code); empty otherwise
   */
  public record Check(String name, Result result, String message, Optional<Kind> kind) {
    static Check ok(String name, String message) {
      return new Check(name, Result.OK, message, Optional.empty());
    }

    static Check fail(String name, Kind kind, String message) {
      return new Check(name, Result.FAIL, message, Optional.of(kind));
    }

    static Check skip(String name, String message) {
      return new Check(name, Result.SKIP, message, Optional.empty());
    }
  }

  /** The running agent: empty when it answers, else why not. */
  @FunctionalInterface
  public interface AgentProbe {
    Optional<String> problem();
  }

  private final PgsidecarConfig config;
  private final Storage storage;
  private final PostgresFacts postgres;
  private final AgentProbe agent;
  private final Clock clock;
  private final RepositoryLayout layout;

  public CheckService(PgsidecarConfig config, Storage storage, PostgresFacts postgres,
      AgentProbe agent, Clock clock) {
    this.config = config;
    this.storage = storage;
    this.postgres = postgres;
    this.agent = agent;
    this.clock = clock;
    this.layout = new RepositoryLayout(config.storage().prefix(), config.cluster());
  }

  /** Runs every check in order; {@code timeout} bounds the wait for the switched segment. */
  public List<Check> run(Duration timeout) throws InterruptedException {
    List<Check> checks = new ArrayList<>();
    Check store = storage();
    checks.add(store);
    checks.add(agent());
    Optional<PostgresFacts.Server> server = Optional.empty();
    try {
      server = Optional.of(postgres.server());
      checks.add(Check.ok("postgres", "PostgreSQL " + server.get().version() + " at "
          + where() + " answers" + (server.get().inRecovery() ? " (in recovery: a standby or a"
          + " restore)" : "")));
    } catch (IOException e) {
      checks.add(Check.fail("postgres", Kind.STORAGE_UNAVAILABLE, "PostgreSQL at " + where()
          + " does not answer: " + oneLine(e.getMessage()) + "; check that it runs and"
          + " postgres.host, postgres.port, postgres.user and the password (postgres.password-file"
          + " or PGSIDECAR_POSTGRES_PASSWORD)"));
    }
    Check cluster = server.isEmpty() ? Check.skip("cluster", "needs postgres")
        : store.result() != Result.OK ? Check.skip("cluster", "needs storage")
        : cluster(server.get());
    checks.add(cluster);
    Check mode = server.map(this::archiveMode).orElse(Check.skip("archive-mode", "needs postgres"));
    Check command = server.map(this::archiveCommand)
        .orElse(Check.skip("archive-command", "needs postgres"));
    checks.add(mode);
    checks.add(command);
    List<String> missing = Stream.of(store, cluster, mode, command)
        .filter(c -> c.result() != Result.OK).map(Check::name).toList();
    if (!missing.isEmpty()) {
      checks.add(Check.skip("archiving", "needs " + String.join(", ", missing)));
    } else if (server.get().inRecovery()) {
      checks.add(Check.skip("archiving", "the server is in recovery: pg_switch_wal() runs only on"
          + " a primary; run pgsidecar check there"));
    } else {
      checks.add(archiving(timeout));
    }
    return List.copyOf(checks);
  }

  /** The first failure's cause, or empty when every check passed or was skipped. */
  public static Optional<Kind> firstFailure(List<Check> checks) {
    return checks.stream().filter(c -> c.result() == Result.FAIL).findFirst()
        .flatMap(Check::kind);
  }

  // ---- the checks ------------------------------------------------------------------------------

  private Check storage() {
    String key = layout.root() + "check/" + STAMP.format(clock.instant()) + "-"
        + UUID.randomUUID().toString().substring(0, 8) + ".probe";
    String where = storage.describe();
    try {
      storage.probe();
      byte[] probe = ("pgsidecar check " + clock.instant() + "\n").getBytes(StandardCharsets.UTF_8);
      storage.create(key, new ByteArrayInputStream(probe),
          () -> new ObjectMetadata(sha256(probe), probe.length, "", ""));
      Optional<ObjectInfo> stored = storage.stat(key);
      if (stored.isEmpty()) {
        return Check.fail("storage", Kind.STORAGE_UNAVAILABLE, "storage " + where + " accepted the"
            + " probe object " + key + " but does not show it; check the storage's consistency"
            + " settings and that nothing removes new objects");
      }
      if (!storage.delete(key)) {
        return Check.fail("storage", Kind.STORAGE_UNAVAILABLE, "storage " + where + ": the probe"
            + " object " + key + " vanished before it was deleted; check that nothing else deletes"
            + " objects under " + layout.root());
      }
      return Check.ok("storage", "wrote, read and deleted a probe object under " + layout.root()
          + " in " + where);
    } catch (IOException | RuntimeException e) {
      // a probe object that was stored stays: delete it if we still can, never anything else
      try {
        storage.delete(key);
      } catch (IOException | RuntimeException ignored) {
        // storage is failing; the message below says so
      }
      String why = oneLine(e.getMessage());
      // the drivers' messages mostly say what to check already: add ours only when they do not
      return Check.fail("storage", Kind.STORAGE_UNAVAILABLE, "storage " + where + " is not usable: "
          + why + (why.contains("check ") ? "" : "; " + storageHint()));
    }
  }

  private Check agent() {
    Optional<String> problem;
    try {
      problem = agent.problem();
    } catch (RuntimeException e) {
      problem = Optional.of(String.valueOf(e.getMessage()));
    }
    return problem.map(p -> Check.fail("agent", Kind.STORAGE_UNAVAILABLE, "the agent does not answer"
            + " on " + config.adminSocket() + ": " + oneLine(p) + "; start it (pgsidecar agent) or"
            + " check http.admin-socket (PGSIDECAR_HTTP_ADMIN_SOCKET)"))
        .orElse(Check.ok("agent", "the agent answers on " + config.adminSocket()));
  }

  private Check cluster(PostgresFacts.Server server) {
    String key = layout.clusterJson();
    try {
      Optional<InputStream> in = storage.open(key);
      if (in.isEmpty()) {
        return Check.ok("cluster", key + " does not exist yet: the first archived segment writes it"
            + " with this server's system identifier " + server.systemIdentifier());
      }
      JsonNode doc;
      try (InputStream s = in.get()) {
        doc = JSON.readTree(s);
      }
      String owner = doc.path("systemIdentifier").asText("");
      if (!owner.equals(server.systemIdentifier())) {
        return Check.fail("cluster", Kind.REFUSED, key + " in " + storage.describe() + " belongs"
            + " to the server with system identifier " + owner + ", but " + where()
            + " has system identifier " + server.systemIdentifier() + "; the agent refuses to"
            + " archive there: give this server its own cluster name (cluster,"
            + " PGSIDECAR_CLUSTER) or an empty storage.prefix");
      }
      return Check.ok("cluster", key + " matches this server's system identifier " + owner);
    } catch (IOException | RuntimeException e) {
      return Check.fail("cluster", Kind.STORAGE_UNAVAILABLE, "cannot read " + key + " in "
          + storage.describe() + ": " + oneLine(e.getMessage()) + "; " + storageHint());
    }
  }

  private Check archiveMode(PostgresFacts.Server server) {
    String mode = server.archiveMode();
    if (mode.equals("on") || mode.equals("always")) {
      return Check.ok("archive-mode", "archive_mode is " + mode);
    }
    return Check.fail("archive-mode", Kind.INVALID_INPUT, "archive_mode is '" + mode + "': set"
        + " archive_mode = on in postgresql.conf and restart PostgreSQL");
  }

  private Check archiveCommand(PostgresFacts.Server server) {
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

  private Check archiving(Duration timeout) throws InterruptedException {
    String segment;
    try {
      segment = postgres.switchWal();
    } catch (IOException e) {
      return Check.fail("archiving", Kind.FAILED, "pg_switch_wal() failed: " + oneLine(e.getMessage())
          + "; the check needs a role that may run pg_create_restore_point() and pg_switch_wal()"
          + " (a superuser, or GRANT EXECUTE on both to postgres.user)");
    }
    Instant started = clock.instant();
    Instant deadline = started.plus(timeout);
    String prefix = layout.walKey(segment, "");
    while (true) {
      try {
        if (stored(prefix)) {
          return Check.ok("archiving", "segment " + segment + " (pg_switch_wal) arrived in "
              + storage.describe() + " after " + seconds(Duration.between(started, clock.instant())));
        }
      } catch (IOException | RuntimeException e) {
        return Check.fail("archiving", Kind.STORAGE_UNAVAILABLE, "cannot list " + prefix + " in "
            + storage.describe() + " while waiting for segment " + segment + ": "
            + oneLine(e.getMessage()) + "; " + storageHint());
      }
      if (!clock.instant().isBefore(deadline)) {
        return Check.fail("archiving", Kind.FAILED, "segment " + segment + " (pg_switch_wal) did not"
            + " arrive in " + storage.describe() + " within " + seconds(timeout) + archiverState()
            + "; look at the server's log and the agent's log, or wait longer (--timeout)");
      }
      Thread.sleep(POLL);
    }
  }

  /** Whether {@code prefix} (a segment's key without its codec suffix) is stored, any suffix. */
  private boolean stored(String prefix) throws IOException {
    try (Stream<ObjectInfo> objects = storage.list(prefix)) {
      return objects.anyMatch(o -> o.key().equals(prefix) || o.key().startsWith(prefix + "."));
    }
  }

  /** What {@code pg_stat_archiver} says about the last failure, or "" when it cannot say. */
  private String archiverState() {
    try {
      return postgres.lastArchiveFailure().map(f -> " (pg_stat_archiver: " + f + ")").orElse("");
    } catch (IOException e) {
      return "";
    }
  }

  // ---- wording ---------------------------------------------------------------------------------

  private String where() {
    return config.postgres().host() + ":" + config.postgres().port();
  }

  private String storageHint() {
    return switch (config.storage().type()) {
      case FS -> "check storage.path (PGSIDECAR_STORAGE_PATH): it must exist and be writable by"
          + " the agent's user";
      case AZURE -> "check storage.azure.* (endpoint, account, container, credentials) and the"
          + " network to the storage account";
      case S3 -> "check storage.s3.* (bucket, endpoint, region, credentials) and the network to"
          + " the bucket";
    };
  }

  static String seconds(Duration d) {
    return String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }

  /** A message on one line: a report line per check. */
  static String oneLine(String s) {
    if (s == null) {
      return "(no message)";
    }
    return String.join("; ", s.strip().lines().map(String::strip).filter(l -> !l.isEmpty())
        .toList());
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Keeps {@link WalFileName} the one judge of what a segment name is. */
  static boolean isSegment(String name) {
    return WalFileName.isValid(name) && WalFileName.parse(name).isSegment();
  }
}
