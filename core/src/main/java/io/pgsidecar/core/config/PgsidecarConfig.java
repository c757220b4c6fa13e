package io.pgsidecar.core.config;

import io.pgsidecar.core.retention.RetentionPolicy;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;

/**
 * The effective configuration shared by the agent, the CLI and restore-init: plain immutable
 * records, built by {@code ConfigLoader} from a YAML file plus {@code PGSIDECAR_*} environment
 * variables (see docs/configuration.md for every key, its variable and default). Tests construct
 * these records directly. Secrets are mostly files, held here only as their paths; the two that
 * may come inline from the environment ({@code postgres.password}, {@code
 * storage.azure.connection-string}) are held as values, and {@code toString}, {@code ConfigPrinter}
 * and configuration errors show them as {@code <redacted>}.
 *
 * @param cluster name of this server's archive inside the repository (key {@code cluster})
 * @param pgdata the agent's view of the data directory, possibly read-only (key {@code pgdata})
 * @param socket unix socket of the agent's HTTP API (key {@code socket})
 * @param retention what retention keeps (keys {@code retention.*}); no rule set: nothing removed
 */
public record PgsidecarConfig(
    String cluster,
    Path pgdata,
    Path socket,
    Http http,
    Postgres postgres,
    StorageConfig storage,
    Compression compression,
    Encryption encryption,
    Wal wal,
    Backup backup,
    Dump dump,
    Metrics metrics,
    Schedule schedule,
    Restore restore,
    RetentionPolicy retention,
    Verify verify,
    Log log) {

  /** Without retention rules, with the default verification settings and the text log: how tests and older callers build a config. */
  public PgsidecarConfig(String cluster, Path pgdata, Path socket, Http http, Postgres postgres,
      StorageConfig storage, Compression compression, Encryption encryption, Wal wal,
      Backup backup, Dump dump, Metrics metrics, Schedule schedule, Restore restore) {
    this(cluster, pgdata, socket, http, postgres, storage, compression, encryption, wal, backup,
        dump, metrics, schedule, restore, RetentionPolicy.none(), Verify.defaults(), Log.TEXT);
  }

  /** With retention rules and the default verification settings. */
  public PgsidecarConfig(String cluster, Path pgdata, Path socket, Http http, Postgres postgres,
      StorageConfig storage, Compression compression, Encryption encryption, Wal wal,
      Backup backup, Dump dump, Metrics metrics, Schedule schedule, Restore restore,
      RetentionPolicy retention) {
    this(cluster, pgdata, socket, http, postgres, storage, compression, encryption, wal, backup,
        dump, metrics, schedule, restore, retention, Verify.defaults(), Log.TEXT);
  }

  /** Without retention rules, with the given verification settings. */
  public PgsidecarConfig(String cluster, Path pgdata, Path socket, Http http, Postgres postgres,
      StorageConfig storage, Compression compression, Encryption encryption, Wal wal,
      Backup backup, Dump dump, Metrics metrics, Schedule schedule, Restore restore,
      Verify verify) {
    this(cluster, pgdata, socket, http, postgres, storage, compression, encryption, wal, backup,
        dump, metrics, schedule, restore, RetentionPolicy.none(), verify, Log.TEXT);
  }

  /** Without retention rules, with the default verification settings and the given log format. */
  public PgsidecarConfig(String cluster, Path pgdata, Path socket, Http http, Postgres postgres,
      StorageConfig storage, Compression compression, Encryption encryption, Wal wal,
      Backup backup, Dump dump, Metrics metrics, Schedule schedule, Restore restore, Log log) {
    this(cluster, pgdata, socket, http, postgres, storage, compression, encryption, wal, backup,
        dump, metrics, schedule, restore, RetentionPolicy.none(), Verify.defaults(), log);
  }

  /** Without restore settings (restore disabled): how tests and older callers build a config. */
  public PgsidecarConfig(String cluster, Path pgdata, Path socket, Http http, Postgres postgres,
      StorageConfig storage, Compression compression, Encryption encryption, Wal wal,
      Backup backup, Dump dump, Metrics metrics, Schedule schedule) {
    this(cluster, pgdata, socket, http, postgres, storage, compression, encryption, wal, backup,
        dump, metrics, schedule, Restore.disabled());
  }

  /**
   * The API's listeners (keys {@code http.*}): the hook socket's group and mode, the admin
   * socket, and an optional TCP listener on 127.0.0.1 guarded by a bearer token.
   *
   * @param adminSocket the administration socket; empty: {@code admin.sock} beside the hook
   *     socket (records built in code; the loader always sets it)
   * @param socketGroup group name or id given to the hook socket; empty: the agent's own group
   * @param socketMode octal permissions of the hook socket, e.g. {@code 0660}
   */
  public record Http(Optional<Integer> tcpPort, Optional<Path> tokenFile, Duration shutdownGrace,
      Optional<Path> adminSocket, Optional<String> socketGroup, String socketMode) {

    /** Default permissions of the hook socket: the agent's user and group. */
    public static final String DEFAULT_SOCKET_MODE = "0660";

    /** Admin socket beside the hook socket, the agent's own group, mode 0660. */
    public Http(Optional<Integer> tcpPort, Optional<Path> tokenFile, Duration shutdownGrace) {
      this(tcpPort, tokenFile, shutdownGrace, Optional.empty(), Optional.empty(), DEFAULT_SOCKET_MODE);
    }
  }

  /** The administration socket: {@code http.admin-socket}, else {@code admin.sock} beside {@link #socket()}. */
  public Path adminSocket() {
    return http.adminSocket().orElseGet(() -> socket.resolveSibling("admin.sock"));
  }

  /**
   * How the agent reaches PostgreSQL (keys {@code postgres.*}); unset values fall back to libpq's
   * PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSFILE, PGPASSWORD like pg_basebackup does.
   * {@code password} comes only from the environment (PGSIDECAR_POSTGRES_PASSWORD or PGPASSWORD)
   * and is left out of {@link #toString()}. {@code binDir} is null when it was neither set nor
   * found ({@link PostgresBinDir}): then {@link #binDir()} throws the error that says so.
   */
  public record Postgres(String host, int port, String user, String database,
      Optional<Path> passwordFile, Path binDir, Optional<String> password) {

    /**
     * The directory of pg_basebackup, pg_dump, pg_dumpall and psql.
     *
     * @throws ConfigException naming {@code postgres.bin-dir} and its variable when it was
     *     neither set nor found
     */
    @Override
    public Path binDir() {
      if (binDir == null) {
        throw PostgresBinDir.notFound();
      }
      return binDir;
    }

    /** {@link #binDir()}, or empty when it was neither set nor found. */
    public Optional<Path> foundBinDir() {
      return Optional.ofNullable(binDir);
    }

    /** Without a password (the common case: a password file, or trust/peer authentication). */
    public Postgres(String host, int port, String user, String database,
        Optional<Path> passwordFile, Path binDir) {
      this(host, port, user, database, passwordFile, binDir, Optional.empty());
    }

    @Override
    public String toString() {
      return "Postgres[host=" + host + ", port=" + port + ", user=" + user + ", database=" + database
          + ", passwordFile=" + passwordFile + ", binDir=" + binDir + ", password="
          + (password.isPresent() ? "<redacted>" : "none") + "]";
    }
  }

  public enum StorageType { FS, AZURE, S3 }

  public enum AzureAuth { CONNECTION_STRING, SHARED_KEY, SAS, WORKLOAD_IDENTITY, MANAGED_IDENTITY, DEFAULT }

  /**
   * Keys {@code storage.*}; {@code timeout} bounds one try of a request, {@code retry}
   * ({@code storage.retries}, {@code storage.retry.*}) the retries of it.
   */
  public record StorageConfig(StorageType type, String prefix, Optional<Path> path, Azure azure,
      Duration timeout, int retries, RetryPolicy.Settings retry, S3 s3) {

    /** Without S3 settings (storage.type fs or azure). */
    public StorageConfig(StorageType type, String prefix, Optional<Path> path, Azure azure,
        Duration timeout, int retries, RetryPolicy.Settings retry) {
      this(type, prefix, path, azure, timeout, retries, retry, S3.NONE);
    }

    /** With the default deadlines and backoff, {@code retries} retries at most. */
    public StorageConfig(StorageType type, String prefix, Optional<Path> path, Azure azure,
        Duration timeout, int retries) {
      this(type, prefix, path, azure, timeout, retries, RetryPolicy.Settings.DEFAULTS.withMaxRetries(retries));
    }
  }

  /** How the S3 driver finds its credentials ({@code storage.s3.auth}). */
  public enum S3Auth {
    /**
     * The AWS SDK's default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web identity token
     * file (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, as EKS sets them), profiles, the
     * container and instance metadata endpoints.
     */
    DEFAULT,
    /** An access key pair read from storage.s3.access-key-id-file and secret-access-key-file. */
    STATIC
  }

  /** Server-side encryption asked for on every object ({@code storage.s3.server-side-encryption}). */
  public enum S3Encryption { NONE, AES256, AWS_KMS }

  /**
   * Keys {@code storage.s3.*}. Secrets are files (a mounted Secret), never values in the config.
   *
   * @param endpoint empty for AWS itself; an http(s) URL for S3-compatible stores
   * @param region empty: the SDK's region chain (AWS_REGION...), else us-east-1 with an endpoint
   * @param partSize one part of a multipart upload and one ranged read; also the largest object
   *     sent in one PutObject
   */
  public record S3(String bucket, Optional<String> endpoint, Optional<String> region,
      boolean pathStyle, S3Auth auth, Optional<Path> accessKeyIdFile,
      Optional<Path> secretAccessKeyFile, S3Encryption serverSideEncryption,
      Optional<String> kmsKeyId, Optional<String> storageClass, long partSize, int concurrency) {

    /** The defaults, no bucket: the value when storage.type is not s3. */
    public static final S3 NONE = new S3("", Optional.empty(), Optional.empty(), false,
        S3Auth.DEFAULT, Optional.empty(), Optional.empty(), S3Encryption.NONE, Optional.empty(),
        Optional.empty(), 8L << 20, 4);
  }

  /**
   * Keys {@code storage.azure.*}. Secrets are files: {@code connectionStringFile} may also be
   * given inline by {@code PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING} (env only, never YAML argv).
   */
  public record Azure(AzureAuth auth, Optional<String> connectionString, Optional<String> endpoint,
      Optional<String> account, Optional<Path> keyFile, Optional<Path> sasTokenFile,
      String container, long blockSize, int concurrency, Optional<String> clientId) {

    /** Like the generated one, with the connection string (it holds the account key) redacted. */
    @Override
    public String toString() {
      return "Azure[auth=" + auth + ", connectionString="
          + (connectionString.isPresent() ? "<redacted>" : "none") + ", endpoint=" + endpoint
          + ", account=" + account + ", keyFile=" + keyFile + ", sasTokenFile=" + sasTokenFile
          + ", container=" + container + ", blockSize=" + blockSize + ", concurrency=" + concurrency
          + ", clientId=" + clientId + "]";
    }
  }

  /** Keys {@code compression.*}: algorithm {@code zstd} (or {@code none}) and its level. */
  public record Compression(String algorithm, int level, int workers) {}

  /**
   * Keys {@code encryption.*}: encrypt to every public key (armored files) and/or a passphrase;
   * decrypt with secret keys (+ passphrase file) or the passphrase. Disabled when all are empty.
   */
  public record Encryption(List<Path> publicKeys, Optional<Path> passphraseFile,
      List<Path> secretKeys, Optional<Path> secretKeyPassphraseFile) {
    public boolean enabled() {
      return !publicKeys.isEmpty() || passphraseFile.isPresent();
    }
  }

  /**
   * Keys {@code wal.*}: look-ahead uploads of {@code .ready} segments (parallelism and cap of
   * segments queued ahead), prefetch of segments after a fetch into a bounded spool, and the zstd
   * level of WAL segments.
   */
  public record Wal(int lookaheadConcurrency, int lookaheadMax, int prefetchCount,
      Path spoolDir, long spoolMaxBytes, int compressionLevel) {

    /**
     * zstd level of WAL segments: 3, pgBackRest's level, so that the archive is no larger than
     * pgBackRest's for the same segments (issue 18, target 3). Level 1 stores 3.3 % more on
     * pgbench's WAL for 0.7x level 3's CPU, 16 % more on bench/wal-archive.sh's bulk-insert WAL
     * for 0.5x; long-distance matching saves another 0.3-0.5 %
     * for 1.6x the CPU and is not used; zero-filled tails (a switched segment) already compress
     * to almost nothing at any level. bench/README.md "Target 3, level choice" and
     * "bench/wal-load.sh" have the figures, WAL made under write load included.
     */
    public static final int DEFAULT_COMPRESSION_LEVEL = 3;

    /** With the default WAL compression level. */
    public Wal(int lookaheadConcurrency, int lookaheadMax, int prefetchCount, Path spoolDir,
        long spoolMaxBytes) {
      this(lookaheadConcurrency, lookaheadMax, prefetchCount, spoolDir, spoolMaxBytes,
          DEFAULT_COMPRESSION_LEVEL);
    }
  }

  /**
   * Keys {@code backup.*}; {@code compressionWorkers} are the zstd workers of the base backup
   * stream (WAL keeps {@code compression.workers}).
   */
  public record Backup(Duration walWaitTimeout, Duration progressInterval, int compressionWorkers) {

    /** Default zstd workers of a base backup stream: what keeps pace with pgBackRest's process-max=2. */
    public static final int DEFAULT_COMPRESSION_WORKERS = 2;

    public Backup(Duration walWaitTimeout, Duration progressInterval) {
      this(walWaitTimeout, progressInterval, DEFAULT_COMPRESSION_WORKERS);
    }
  }

  /** Keys {@code dump.*}: databases to include/exclude (empty include = all), overlap policy. */
  public record Dump(List<String> include, List<String> exclude, boolean allowOverlapWithBackup) {}

  /**
   * Key {@code log.format}: how the agent writes its log to stderr, {@code text} (the JDK's two
   * lines per event) or {@code json} (one JSON object per line, for a log collector).
   */
  public record Log(String format) {
    public static final Log TEXT = new Log("text");

    public boolean json() {
      return format.equals("json");
    }
  }

  /** Keys {@code metrics.*}: {@code port} 0 disables the metrics listener. */
  public record Metrics(int port, String host) {}

  /**
   * Keys {@code schedule.*}: cron expressions (5 fields), evaluated in {@code timezone};
   * {@code retention} adds runs to the one after each successful base backup.
   *
   * @param verify the restore drill: the newest base backup restored to consistency
   */
  public record Schedule(Optional<String> baseBackup, Optional<String> dump, ZoneId timezone,
      Optional<String> retention, Optional<String> verify) {

    /** Without a retention schedule (retention then runs only after base backups) nor a drill. */
    public Schedule(Optional<String> baseBackup, Optional<String> dump, ZoneId timezone) {
      this(baseBackup, dump, timezone, Optional.empty(), Optional.empty());
    }
  }

  /**
   * Keys {@code verify.*}: how {@code backup verify}, {@code dump verify} and the restore drill
   * run on this machine.
   *
   * @param workDir where scratch directories go (one unpacked backup at a time), removed after
   * @param runAs OS user of the scratch server when the agent runs as root (PostgreSQL refuses root)
   * @param probeQuery the query a restored server must answer
   * @param timeout bound of each program run and of the wait for consistency
   */
  public record Verify(Path workDir, String runAs, String probeQuery, Duration timeout) {

    public static final String DEFAULT_WORK_DIR = "/tmp/pgsidecar-verify";
    public static final String DEFAULT_PROBE_QUERY = "SELECT concat(count(*), ' databases, ',"
        + " pg_size_pretty(sum(pg_database_size(oid)))) FROM pg_database";

    public static Verify defaults() {
      return new Verify(Path.of(DEFAULT_WORK_DIR), "postgres", DEFAULT_PROBE_QUERY,
          Duration.ofMinutes(30));
    }
  }

  /**
   * Keys {@code restore.*}: what restore-init does when PGDATA is empty. At most one
   * {@code target*} kind is set (checked at load); none means "replay to the end of the archive".
   *
   * @param enabled restore-init does nothing unless this is true
   * @param backup a backup id, or {@code latest} for the newest that ends before the target
   * @param targetAction {@code promote}, {@code pause} or {@code shutdown}
   * @param targetTimeline {@code latest}, {@code current} or a timeline number
   * @param fromCluster restore another cluster's archive (WAL fetched with {@code --cluster})
   * @param walArchiver path of wal-archiver as the PostgreSQL container sees it
   * @param socket the agent's socket as the PostgreSQL container sees it, when not the default
   */
  public record Restore(boolean enabled, String backup, Optional<String> targetTime,
      Optional<String> targetLsn, Optional<String> targetXid, Optional<String> targetName,
      boolean targetImmediate, boolean targetExclusive, String targetAction,
      String targetTimeline, Optional<String> fromCluster, String walArchiver,
      Optional<String> socket) {

    public static final String DEFAULT_WAL_ARCHIVER = "/pgsidecar/bin/wal-archiver";

    /** Restore not requested; every other key at its default. */
    public static Restore disabled() {
      return new Restore(false, "latest", Optional.empty(), Optional.empty(), Optional.empty(),
          Optional.empty(), false, false, "promote", "latest", Optional.empty(),
          DEFAULT_WAL_ARCHIVER, Optional.empty());
    }
  }
}
