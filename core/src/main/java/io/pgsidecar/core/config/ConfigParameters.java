package io.pgsidecar.core.config;

import static io.pgsidecar.core.config.ParamType.bool;
import static io.pgsidecar.core.config.ParamType.connectionString;
import static io.pgsidecar.core.config.ParamType.cron;
import static io.pgsidecar.core.config.ParamType.duration;
import static io.pgsidecar.core.config.ParamType.enumOf;
import static io.pgsidecar.core.config.ParamType.integer;
import static io.pgsidecar.core.config.ParamType.matching;
import static io.pgsidecar.core.config.ParamType.oneOf;
import static io.pgsidecar.core.config.ParamType.path;
import static io.pgsidecar.core.config.ParamType.pathList;
import static io.pgsidecar.core.config.ParamType.size;
import static io.pgsidecar.core.config.ParamType.string;
import static io.pgsidecar.core.config.ParamType.stringList;
import static io.pgsidecar.core.config.ParamType.zone;

import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.config.PgsidecarConfig.S3Auth;
import io.pgsidecar.core.config.PgsidecarConfig.S3Encryption;
import io.pgsidecar.core.config.PgsidecarConfig.StorageType;
import io.pgsidecar.core.storage.retry.RetryPolicy.Operation;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every configuration key, in the order of docs/configuration.md. Adding a key means one entry
 * here, one line in {@link ConfigBuilder} to put it into its record, and regenerating the doc
 * (the reference test says how).
 */
public final class ConfigParameters {

  /** 64 KiB to 4000 MiB: the bounds of one Azure block (Put Block). */
  static final long MIN_BLOCK = 64L << 10;
  static final long MAX_BLOCK = 4000L << 20;
  /** 5 MiB (S3's smallest part but the last) to 2000 MiB (one buffer per part). */
  static final long MIN_PART = 5L << 20;
  static final long MAX_PART = 2000L << 20;

  public static final List<Param<?>> ALL = List.of(
      Param.of("cluster", clusterName(),
          "Name of this server's archive in the repository (required).", PgsidecarConfig::cluster),
      Param.of("pgdata", path(), "The agent's view of PostgreSQL's data directory (may be read-only).",
          PgsidecarConfig::pgdata).defaultValue("/var/lib/postgresql/data/pgdata"),
      Param.of("socket", path(), "Hook socket: WAL push and fetch for PostgreSQL's archive_command and restore_command (wal-archiver).",
          PgsidecarConfig::socket).defaultValue("/pgsidecar/run/agent.sock"),

      Param.of("http.tcp-port", integer(1, 65535),
          "Also serve the admin API on 127.0.0.1 at this port, to holders of the bearer token (requires http.token-file).",
          c -> c.http().tcpPort()),
      Param.of("http.token-file", path(), "File holding the bearer token the TCP listener requires.",
          c -> c.http().tokenFile()),
      Param.of("http.shutdown-grace", duration(), "How long running work may finish on SIGTERM.",
          c -> c.http().shutdownGrace()).defaultValue("30s"),
      Param.of("http.admin-socket", path(), "Unix socket of the administration API (backups, dumps,"
          + " status; the pgsidecar CLI); keep it where only the agent's container sees it.",
          c -> c.http().adminSocket()).defaultValue("/run/pgsidecar/admin.sock"),
      Param.of("http.socket-group", matching("a group name or numeric id", "[A-Za-z0-9._][A-Za-z0-9._-]*"),
          "Group given to the hook socket (socket), so PostgreSQL's user can connect when the agent"
          + " runs as another user (e.g. postgres); unset: the agent's own group.",
          c -> c.http().socketGroup()),
      Param.of("http.socket-mode", matching("an octal mode like 0660", "0?[0-7]{3}"),
          "Permissions of the hook socket (socket).", c -> c.http().socketMode()).defaultValue("0660"),

      Param.of("postgres.host", string(), "Host or socket directory of PostgreSQL.",
          c -> c.postgres().host()).defaultValue("localhost").fallback("PGHOST"),
      Param.of("postgres.port", integer(1, 65535), "Port of PostgreSQL.",
          c -> c.postgres().port()).defaultValue("5432").fallback("PGPORT"),
      Param.of("postgres.user", string(), "Role used for backups and dumps (needs REPLICATION).",
          c -> c.postgres().user()).defaultValue("postgres").fallback("PGUSER"),
      Param.of("postgres.database", string(), "Database the agent connects to for its own queries.",
          c -> c.postgres().database()).defaultValue("postgres").fallback("PGDATABASE"),
      Param.of("postgres.password-file", path(), "A .pgpass-format file with the role's password.",
          c -> c.postgres().passwordFile()).fallback("PGPASSFILE"),
      Param.of("postgres.password", string(), "Password of the role (environment only).",
          c -> c.postgres().password()).asSecret().fallback("PGPASSWORD"),
      Param.of(PostgresBinDir.KEY, path(), "Directory of pg_basebackup, pg_dump, pg_dumpall and psql.",
          c -> c.postgres().foundBinDir())
          .computedDefault("`pg_config --bindir` (pg_config on PATH), else the highest"
              + " /usr/lib/postgresql/*/bin, else the directory of pg_basebackup on PATH; each only"
              + " when it holds pg_basebackup. None found: an error at first use naming this key"),

      Param.of("storage.type", enumOf(StorageType.class), "Where the repository lives.",
          c -> c.storage().type()).defaultValue("fs"),
      Param.of("storage.prefix", pathOfNames(),
          "Folder inside the container or path that holds the clusters' archives.",
          c -> c.storage().prefix().isEmpty() ? Optional.empty() : Optional.of(c.storage().prefix())),
      Param.of("storage.path", path(), "Root directory of the repository when storage.type is fs.",
          c -> c.storage().path()),
      Param.of("storage.timeout", duration(), "Time limit of one try of a storage request.",
          c -> c.storage().timeout()).defaultValue("60s"),
      Param.of("storage.retries", integer(0, 100),
          "Most retries of one failed storage request (each within its storage.retry deadline).",
          c -> c.storage().retries()).defaultValue("5"),
      Param.of("storage.retry.push-deadline", duration(),
          "A WAL push (per storage call) fails after this long, so PostgreSQL sees the failure.",
          c -> c.storage().retry().deadline(Operation.PUSH)).defaultValue("60s"),
      Param.of("storage.retry.fetch-deadline", duration(),
          "A WAL fetch (per storage call) fails after this long (restore_command then stops).",
          c -> c.storage().retry().deadline(Operation.FETCH)).defaultValue("120s"),
      Param.of("storage.retry.block-deadline", duration(),
          "No retry of an uploaded block starts after this long.",
          c -> c.storage().retry().deadline(Operation.BLOCK)).defaultValue("120s"),
      Param.of("storage.retry.commit-deadline", duration(),
          "No retry of an object's commit (or single-request upload) starts after this long.",
          c -> c.storage().retry().deadline(Operation.COMMIT)).defaultValue("60s"),
      Param.of("storage.retry.read-deadline", duration(),
          "No retry of a read request (properties, a range) starts after this long.",
          c -> c.storage().retry().deadline(Operation.READ)).defaultValue("60s"),
      Param.of("storage.retry.list-deadline", duration(),
          "No retry of a listing or delete starts after this long.",
          c -> c.storage().retry().deadline(Operation.LIST)).defaultValue("60s"),
      Param.of("storage.retry.first-backoff", duration(),
          "Pause before the first retry; doubles per retry, jittered between half and all of it.",
          c -> c.storage().retry().firstBackoff()).defaultValue("1s"),
      Param.of("storage.retry.max-backoff", duration(), "Longest pause between two retries.",
          c -> c.storage().retry().maxBackoff()).defaultValue("15s"),

      Param.of("storage.azure.auth", enumOf(AzureAuth.class), "How the agent authenticates to Azure.",
          c -> c.storage().azure().auth()).defaultValue("default"),
      Param.of("storage.azure.connection-string", connectionString(),
          "Connection string when auth is connection-string (environment only).",
          c -> c.storage().azure().connectionString()).asSecret(),
      Param.of("storage.azure.endpoint", matching("an http(s) URL", "https?://\\S+"),
          "Blob endpoint; defaults to https://ACCOUNT.blob.core.windows.net.",
          c -> c.storage().azure().endpoint()),
      Param.of("storage.azure.account", matching("a storage account name", "[a-z0-9]{3,24}"),
          "Storage account name.", c -> c.storage().azure().account()),
      Param.of("storage.azure.key-file", path(), "File holding the account key when auth is shared-key.",
          c -> c.storage().azure().keyFile()),
      Param.of("storage.azure.sas-token-file", path(), "File holding a SAS token when auth is sas.",
          c -> c.storage().azure().sasTokenFile()),
      Param.of("storage.azure.container",
          matching("a container name of 3 to 63 lowercase letters, digits and '-'", "[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]"),
          "Blob container of the repository (required when storage.type is azure).",
          c -> c.storage().azure().container().isEmpty() ? Optional.empty()
              : Optional.of(c.storage().azure().container())),
      Param.of("storage.azure.block-size", size(MIN_BLOCK, MAX_BLOCK), "Size of one uploaded block.",
          c -> c.storage().azure().blockSize()).defaultValue("8MiB"),
      Param.of("storage.azure.concurrency", integer(1, 64), "Blocks uploaded in parallel per object.",
          c -> c.storage().azure().concurrency()).defaultValue("4"),
      Param.of("storage.azure.client-id", string(),
          "Client id of a user-assigned managed identity or workload identity.",
          c -> c.storage().azure().clientId()),

      Param.of("storage.s3.bucket",
          matching("a bucket name of 3 to 63 lowercase letters, digits, '.' and '-'", "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
          "Bucket of the repository (required when storage.type is s3).",
          c -> c.storage().s3().bucket().isEmpty() ? Optional.empty()
              : Optional.of(c.storage().s3().bucket())),
      Param.of("storage.s3.endpoint", matching("an http(s) URL", "https?://\\S+"),
          "S3 API endpoint of an S3-compatible store (MinIO, Hetzner, B2, Spaces); unset: AWS.",
          c -> c.storage().s3().endpoint()),
      Param.of("storage.s3.region", matching("a region name like eu-central-1", "[a-z0-9-]+"),
          "Region to sign for; unset: the SDK's region chain (AWS_REGION), else us-east-1.",
          c -> c.storage().s3().region()),
      Param.of("storage.s3.path-style", bool(),
          "Address the bucket in the path (http://host/bucket/key), as most S3-compatible stores need.",
          c -> c.storage().s3().pathStyle()).defaultValue("false"),
      Param.of("storage.s3.auth", enumOf(S3Auth.class),
          "default: the AWS default chain (env, web identity token file as EKS sets it, instance"
          + " profile); static: the key pair in the two files below.",
          c -> c.storage().s3().auth()).defaultValue("default"),
      Param.of("storage.s3.access-key-id-file", path(), "File holding the access key id when auth is static.",
          c -> c.storage().s3().accessKeyIdFile()),
      Param.of("storage.s3.secret-access-key-file", path(),
          "File holding the secret access key when auth is static.",
          c -> c.storage().s3().secretAccessKeyFile()),
      Param.of("storage.s3.server-side-encryption", enumOf(S3Encryption.class),
          "Server-side encryption asked for on every object: none, aes256 (SSE-S3) or aws-kms (SSE-KMS).",
          c -> c.storage().s3().serverSideEncryption()).defaultValue("none"),
      Param.of("storage.s3.kms-key-id", string(),
          "KMS key id or ARN when server-side-encryption is aws-kms; unset: the bucket's AWS managed key.",
          c -> c.storage().s3().kmsKeyId()),
      Param.of("storage.s3.storage-class", matching("an S3 storage class like STANDARD_IA", "[A-Z_]+"),
          "Storage class of every object (STANDARD, STANDARD_IA, ...); unset: the bucket's default.",
          c -> c.storage().s3().storageClass()),
      Param.of("storage.s3.part-size", size(MIN_PART, MAX_PART),
          "Size of one multipart upload part and of one ranged read (one buffer each).",
          c -> c.storage().s3().partSize()).defaultValue("8MiB"),
      Param.of("storage.s3.concurrency", integer(1, 64), "Parts uploaded or read in parallel per object; all uploads together hold at most concurrency + 1 part buffers, and all reads as many ranges, within 30 % of the heap (3 of 8 MiB under bin/pgsidecar's 80 MiB).",
          c -> c.storage().s3().concurrency()).defaultValue("4"),

      Param.of("compression.algorithm", oneOf("zstd", "none"), "Compression of every stored object.",
          c -> c.compression().algorithm()).defaultValue("zstd"),
      Param.of("compression.level", integer(1, 22), "zstd level of base backups and dumps (WAL segments: wal.compression-level).",
          c -> c.compression().level()).defaultValue("3"),
      Param.of("compression.workers", integer(0, 64),
          "zstd worker threads per stream; 0 compresses on the calling thread.",
          c -> c.compression().workers()).defaultValue("0"),

      Param.of("encryption.public-keys", pathList(),
          "Armored OpenPGP public keys to encrypt to (encryption is on when this or a passphrase is set).",
          c -> c.encryption().publicKeys()),
      Param.of("encryption.passphrase-file", path(), "File holding a passphrase to encrypt and decrypt with.",
          c -> c.encryption().passphraseFile()),
      Param.of("encryption.secret-keys", pathList(), "Armored OpenPGP secret keys, to decrypt what was encrypted to their public keys (restore, dump restore).",
          c -> c.encryption().secretKeys()),
      Param.of("encryption.secret-key-passphrase-file", path(), "File holding the secret keys' passphrase.",
          c -> c.encryption().secretKeyPassphraseFile()),

      Param.of("wal.lookahead-concurrency", integer(1, 64),
          "Segments uploaded in parallel ahead of archive_command (from .ready files).",
          c -> c.wal().lookaheadConcurrency()).defaultValue("4"),
      Param.of("wal.lookahead-max", integer(0, 1024), "Most segments uploaded ahead at once; 0 disables look-ahead.",
          c -> c.wal().lookaheadMax()).defaultValue("16"),
      Param.of("wal.prefetch-count", integer(0, 256), "Segments fetched ahead during recovery; 0 disables prefetch.",
          c -> c.wal().prefetchCount()).defaultValue("8"),
      Param.of("wal.spool-dir", path(), "Directory of prefetched segments; on the file system of pg_wal and writable by the"
          + " server's user, restore_command hard-links them into place instead of copying.",
          c -> c.wal().spoolDir()).defaultValue("/pgsidecar/spool"),
      Param.of("wal.spool-max-size", size(0, Long.MAX_VALUE), "Most bytes the prefetch spool holds.",
          c -> c.wal().spoolMaxBytes()).defaultValue("1GiB"),
      Param.of("wal.compression-level", integer(1, 22),
          "zstd level of WAL segments (when compression.algorithm is zstd); 3 stores no more than pgBackRest's zst level 3; 1 spends 0.5-0.7x its CPU on the database's pod and stores 3-16 % more (bench/README.md).",
          c -> c.wal().compressionLevel())
          .defaultValue(Integer.toString(PgsidecarConfig.Wal.DEFAULT_COMPRESSION_LEVEL)),

      Param.of("backup.wal-wait-timeout", duration(),
          "How long a base backup waits for its last WAL segment to be archived.",
          c -> c.backup().walWaitTimeout()).defaultValue("10m"),
      Param.of("backup.progress-interval", duration(), "Interval of progress log lines.",
          c -> c.backup().progressInterval()).defaultValue("30s"),
      Param.of("backup.compression-workers", integer(0, 64),
          "zstd worker threads of the base backup stream (WAL uses compression.workers); 0 compresses on the reading thread.",
          c -> c.backup().compressionWorkers())
          .defaultValue(Integer.toString(PgsidecarConfig.Backup.DEFAULT_COMPRESSION_WORKERS)),

      Param.of("dump.include", stringList(), "Databases to dump; empty means all.", c -> c.dump().include()),
      Param.of("dump.exclude", stringList(), "Databases never dumped.", c -> c.dump().exclude()),
      Param.of("dump.allow-overlap-with-backup", bool(), "Let a dump run while a base backup runs.",
          c -> c.dump().allowOverlapWithBackup()).defaultValue("false"),

      Param.of("retention.base-backups.keep-newest", integer(1, 100_000),
          "Keep the newest N complete base backups (permanent ones not counted); unset: no such rule.",
          c -> positive(c.retention().baseBackups().keepNewest())),
      Param.of("retention.base-backups.window", duration(),
          "Keep what a restore to any moment of the last window needs (every backup that ended in it, the newest before it, and the WAL from there).",
          c -> c.retention().baseBackups().window()),
      Param.of("retention.base-backups.gfs.daily", integer(0, 10_000),
          "GFS: keep the newest of this many UTC days (a base backup fills at most one GFS slot).",
          c -> c.retention().baseBackups().gfs().daily()).defaultValue("0"),
      Param.of("retention.base-backups.gfs.weekly", integer(0, 10_000),
          "GFS: keep the newest of this many ISO weeks (UTC, Monday to Sunday).",
          c -> c.retention().baseBackups().gfs().weekly()).defaultValue("0"),
      Param.of("retention.base-backups.gfs.monthly", integer(0, 10_000),
          "GFS: keep the newest of this many months (UTC).",
          c -> c.retention().baseBackups().gfs().monthly()).defaultValue("0"),
      Param.of("retention.base-backups.gfs.yearly", integer(0, 10_000),
          "GFS: keep the newest of this many years (UTC).",
          c -> c.retention().baseBackups().gfs().yearly()).defaultValue("0"),
      Param.of("retention.base-backups.tier.daily", oneOf("hot", "cool", "cold", "archive"),
          "Azure access tier of the data of a base backup the gfs.daily class keeps (archive needs rehydration before a restore).",
          c -> c.retention().baseBackupTiers().daily()),
      Param.of("retention.base-backups.tier.weekly", oneOf("hot", "cool", "cold", "archive"),
          "Azure access tier of the data of a base backup the gfs.weekly class keeps (archive needs rehydration before a restore).",
          c -> c.retention().baseBackupTiers().weekly()),
      Param.of("retention.base-backups.tier.monthly", oneOf("hot", "cool", "cold", "archive"),
          "Azure access tier of the data of a base backup the gfs.monthly class keeps (archive needs rehydration before a restore).",
          c -> c.retention().baseBackupTiers().monthly()),
      Param.of("retention.base-backups.tier.yearly", oneOf("hot", "cool", "cold", "archive"),
          "Azure access tier of the data of a base backup the gfs.yearly class keeps (archive needs rehydration before a restore).",
          c -> c.retention().baseBackupTiers().yearly()),
      Param.of("retention.dumps.keep-newest", integer(1, 100_000),
          "Keep the newest N complete dumps (permanent ones not counted); unset: no such rule.",
          c -> positive(c.retention().dumps().keepNewest())),
      Param.of("retention.dumps.window", duration(),
          "Keep what a restore to any moment of the last window needs (every dump that ended in it and the newest before it).",
          c -> c.retention().dumps().window()),
      Param.of("retention.dumps.gfs.daily", integer(0, 10_000),
          "GFS: keep the newest of this many UTC days (a dump fills at most one GFS slot).",
          c -> c.retention().dumps().gfs().daily()).defaultValue("0"),
      Param.of("retention.dumps.gfs.weekly", integer(0, 10_000),
          "GFS: keep the newest of this many ISO weeks (UTC, Monday to Sunday).",
          c -> c.retention().dumps().gfs().weekly()).defaultValue("0"),
      Param.of("retention.dumps.gfs.monthly", integer(0, 10_000),
          "GFS: keep the newest of this many months (UTC).",
          c -> c.retention().dumps().gfs().monthly()).defaultValue("0"),
      Param.of("retention.dumps.gfs.yearly", integer(0, 10_000),
          "GFS: keep the newest of this many years (UTC).",
          c -> c.retention().dumps().gfs().yearly()).defaultValue("0"),
      Param.of("retention.orphan-age", duration(),
          "An unfinished backup or dump (no backup.json / dump.json) older than this is removed; longer than any backup runs.",
          c -> c.retention().orphanAge()).defaultValue("3d"),

      Param.of("metrics.port", integer(0, 65535), "Port of /metrics; 0 disables it.",
          c -> c.metrics().port()).defaultValue("9187"),
      Param.of("metrics.host", string(), "Address /metrics listens on.",
          c -> c.metrics().host()).defaultValue("0.0.0.0"),

      Param.of("schedule.base-backup", cron(), "When to take base backups (cron, 5 fields).",
          c -> c.schedule().baseBackup()),
      Param.of("schedule.dump", cron(), "When to take logical dumps (cron, 5 fields).",
          c -> c.schedule().dump()),
      Param.of("schedule.retention", cron(),
          "Extra retention runs (cron, 5 fields); retention also runs after each successful base backup when a retention.* rule is set.",
          c -> c.schedule().retention()),
      Param.of("schedule.verify", cron(), "When to run the restore drill (cron, 5 fields): the"
          + " newest base backup restored to consistency in verify.work-dir, WAL gaps counted.",
          c -> c.schedule().verify()),
      Param.of("schedule.timezone", zone(), "Time zone of the schedules.",
          c -> c.schedule().timezone()).defaultValue("UTC"),

      Param.of("restore.enabled", bool(),
          "Let restore-init restore into an empty PGDATA; without it restore-init does nothing.",
          c -> c.restore().enabled()).defaultValue("false"),
      Param.of("restore.backup", matching("a backup id such as 20261122T021500Z, or latest",
          "latest|[0-9]{8}T[0-9]{6}Z(-[0-9]+)?"),
          "Backup to restore; latest picks the newest that ends before the target.",
          c -> c.restore().backup()).defaultValue("latest"),
      Param.of("restore.target-time", matching("a time such as 2026-11-22T02:15:00Z (no offset = UTC)",
          "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})? ?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"),
          "Recovery target: stop replay at this moment (recovery_target_time).",
          c -> c.restore().targetTime()),
      Param.of("restore.target-lsn", matching("an LSN such as 0/3000028", "[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}"),
          "Recovery target: stop replay at this WAL position (recovery_target_lsn).",
          c -> c.restore().targetLsn()),
      Param.of("restore.target-xid", matching("a transaction id (digits)", "[0-9]+"),
          "Recovery target: stop replay at this transaction's commit (recovery_target_xid).",
          c -> c.restore().targetXid()),
      Param.of("restore.target-name", string(),
          "Recovery target: stop at this pg_create_restore_point() name (recovery_target_name).",
          c -> c.restore().targetName()),
      Param.of("restore.target-immediate", bool(),
          "Recovery target: stop as soon as the backup is consistent (recovery_target = immediate).",
          c -> c.restore().targetImmediate()).defaultValue("false"),
      Param.of("restore.target-exclusive", bool(),
          "Stop just before the target instead of just after it (recovery_target_inclusive = off).",
          c -> c.restore().targetExclusive()).defaultValue("false"),
      Param.of("restore.target-action", oneOf("promote", "pause", "shutdown"),
          "What PostgreSQL does on reaching the target (recovery_target_action).",
          c -> c.restore().targetAction()).defaultValue("promote"),
      Param.of("restore.target-timeline", matching("latest, current or a timeline number",
          "latest|current|[0-9]+"), "Timeline to follow during replay (recovery_target_timeline).",
          c -> c.restore().targetTimeline()).defaultValue("latest"),
      Param.of("restore.from-cluster", clusterName(),
          "Restore another cluster's archive into this server (its WAL is fetched from there).",
          c -> c.restore().fromCluster()),
      Param.of("restore.wal-archiver", string(),
          "Path of wal-archiver as the PostgreSQL container sees it (for restore_command).",
          c -> c.restore().walArchiver()).defaultValue("/pgsidecar/bin/wal-archiver"),
      Param.of("restore.socket", string(),
          "The agent's socket as the PostgreSQL container sees it, passed to wal-archiver --socket.",
          c -> c.restore().socket()),

      Param.of("verify.work-dir", path(), "Where backup verify, dump verify and the restore drill"
          + " unpack and start a scratch server; needs room for one restored backup; removed after"
          + " each run.", c -> c.verify().workDir())
          .defaultValue(PgsidecarConfig.Verify.DEFAULT_WORK_DIR),
      Param.of("verify.run-as", string(), "OS user of the scratch server when the agent runs as"
          + " root (PostgreSQL refuses root); ignored otherwise.", c -> c.verify().runAs())
          .defaultValue("postgres"),
      Param.of("verify.probe-query", string(), "Query a restored scratch server must answer (as"
          + " postgres.user, in postgres.database).", c -> c.verify().probeQuery())
          .defaultValue(PgsidecarConfig.Verify.DEFAULT_PROBE_QUERY),
      Param.of("verify.timeout", duration(), "Bound of each program a verification runs and of"
          + " the wait for a restored server to reach consistency.", c -> c.verify().timeout())
          .defaultValue("30m"),
      Param.of("log.format", oneOf("text", "json"),
          "How the agent writes its log to stderr: text, or json (one object per line: time, level,"
              + " logger, message, and segment, backup or dump when the event names one).",
          c -> c.log().format()).defaultValue("text"));

  /**
   * {@code PGSIDECAR_*} variables that are not configuration keys (launchers, tests): not
   * reported as unknown.
   */
  public static final List<String> OTHER_VARIABLES = List.of(
      "PGSIDECAR_CONFIG", "PGSIDECAR_JAVA_OPTS", "PGSIDECAR_AZURITE_MAIN", "PGSIDECAR_PG_BIN",
      "PGSIDECAR_KUBERNETES_MODELS",
      // read by the launchers and wal-archiver, which may share the agent container's environment
      "PGSIDECAR_JAVA", "PGSIDECAR_CDS", "PGSIDECAR_WAL_ARCHIVER_CDS", "PGSIDECAR_WAL_ARCHIVER_CURL",
      "PGSIDECAR_URL", "PGSIDECAR_TOKEN", "PGSIDECAR_WAIT");

  /** An unset count (0) as empty, so that {@code config show} prints it as not set. */
  private static Optional<Integer> positive(int n) {
    return n > 0 ? Optional.of(n) : Optional.empty();
  }

  private static final Map<String, Param<?>> BY_KEY = new LinkedHashMap<>();

  /** One segment of every key (RepositoryLayout): '.' and '..' would leave the repository. */
  private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*");

  static ParamType<String> clusterName() {
    return new ParamType<>("a name of letters, digits, '.', '_' and '-', not starting with '.'",
        s -> {
          if (!NAME.matcher(s).matches()) {
            throw new IllegalArgumentException(s);
          }
          return s;
        }, s -> s);
  }

  /**
   * Names separated by '/' (doubled, leading and trailing ones are dropped), each a
   * {@link #clusterName}; checked name by name, not with one regular expression, whose
   * repetition recursed (a StackOverflowError on a value of thousands of names).
   */
  static ParamType<String> pathOfNames() {
    return new ParamType<>("a path of names separated by '/', each of letters, digits, '.', '_'"
        + " and '-', not starting with '.'", s -> {
          boolean any = false;
          for (String name : s.split("/")) {
            if (!name.isEmpty() && !NAME.matcher(name).matches()) {
              throw new IllegalArgumentException(s);
            }
            any |= !name.isEmpty();
          }
          if (!any) {
            throw new IllegalArgumentException(s);
          }
          return s;
        }, s -> s);
  }

  static {
    ALL.forEach(p -> BY_KEY.put(p.key(), p));
  }

  private ConfigParameters() {}

  public static Optional<Param<?>> byKey(String key) {
    return Optional.ofNullable(BY_KEY.get(key));
  }
}
