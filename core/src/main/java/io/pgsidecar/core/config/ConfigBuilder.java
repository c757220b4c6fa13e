package io.pgsidecar.core.config;

import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.config.PgsidecarConfig.StorageType;
import io.pgsidecar.core.storage.RetryPolicy;
import io.pgsidecar.core.storage.RetryPolicy.Operation;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import io.pgsidecar.core.retention.RetentionPolicy;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Second half of loading: checks the keys that are required only in some settings (the storage
 * type, the Azure auth method) and puts the typed values into the {@link PgsidecarConfig}
 * records. {@link #build()} runs only once {@link #check()} and the parse found nothing wrong.
 */
final class ConfigBuilder {

  /** Parsed values by key (defaults included), and the keys whose value was bad. */
  record Values(Map<String, Object> typed, Collection<String> invalid) {}

  private final Values values;
  private final Map<String, String> env;
  private final Path defaultBinDir;

  ConfigBuilder(Values values, Map<String, String> env, Path defaultBinDir) {
    this.values = values;
    this.env = env;
    this.defaultBinDir = defaultBinDir;
  }

  /** Problems that are not about a single value: required keys, contradicting keys. */
  List<String> check() {
    List<String> errors = new ArrayList<>();
    require(errors, "", "cluster");
    if (has("http.tcp-port")) {
      require(errors, " when http.tcp-port is set", "http.token-file");
    }
    Object hook = values.typed().get("socket");
    Object admin = values.typed().get("http.admin-socket");
    if (hook != null && admin != null && ((Path) hook).toAbsolutePath().normalize()
        .equals(((Path) admin).toAbsolutePath().normalize())) {
      errors.add("http.admin-socket and socket are both " + hook + ": the admin socket must be"
          + " another path, in a directory only the agent's container mounts (PostgreSQL's"
          + " container sees the hook socket)");
    }
    StorageType type = (StorageType) values.typed().get("storage.type");
    if (type == StorageType.FS) {
      require(errors, " when storage.type is fs", "storage.path");
    } else if (type == StorageType.AZURE) {
      require(errors, " when storage.type is azure", "storage.azure.container");
      AzureAuth auth = (AzureAuth) values.typed().get("storage.azure.auth");
      if (auth != null) {
        checkAzureAuth(errors, auth);
      }
    } else if (type == StorageType.S3) {
      require(errors, " when storage.type is s3", "storage.s3.bucket");
      if (values.typed().get("storage.s3.auth") == PgsidecarConfig.S3Auth.STATIC) {
        require(errors, " when storage.s3.auth is static", "storage.s3.access-key-id-file",
            "storage.s3.secret-access-key-file");
      }
    }
    for (String k : List.of("retention.orphan-age", "retention.base-backups.window", "retention.dumps.window")) {
      if (java.time.Duration.ZERO.equals(values.typed().get(k))) {
        errors.add(k + " is 0: it must be a positive duration such as 14d; "
            + (k.endsWith("orphan-age") ? "unset it for the default (3d)" : "unset it to turn the rule off"));
      }
    }
    List<String> targets = RESTORE_TARGETS.stream()
        .filter(k -> k.equals("restore.target-immediate") ? Boolean.TRUE.equals(values.typed().get(k)) : has(k))
        .toList();
    if (targets.size() > 1) {
      errors.add(String.join(" and ", targets) + " are both set: a restore has at most one"
          + " recovery target; keep one (none replays to the end of the archive)");
    }
    return errors;
  }

  private static final List<String> RESTORE_TARGETS = List.of("restore.target-time",
      "restore.target-lsn", "restore.target-xid", "restore.target-name", "restore.target-immediate");

  private void checkAzureAuth(List<String> errors, AzureAuth auth) {
    String when = " when storage.azure.auth is " + ParamType.kebab(auth);
    switch (auth) {
      case CONNECTION_STRING -> require(errors, when, "storage.azure.connection-string");
      case SHARED_KEY -> require(errors, when, "storage.azure.account", "storage.azure.key-file");
      case SAS -> {
        require(errors, when, "storage.azure.sas-token-file");
        requireOne(errors, when, "storage.azure.account", "storage.azure.endpoint");
      }
      default -> requireOne(errors, when, "storage.azure.account", "storage.azure.endpoint");
    }
    if (auth != AzureAuth.CONNECTION_STRING && has("storage.azure.connection-string")) {
      errors.add("storage.azure.connection-string is set but storage.azure.auth is "
          + ParamType.kebab(auth) + ": set storage.azure.auth to connection-string, or remove "
          + "the connection string");
    }
  }

  private void require(List<String> errors, String when, String... keys) {
    for (String key : keys) {
      if (!has(key) && !values.invalid().contains(key)) {
        errors.add(key + " is required" + when + ": " + whereToSet(key));
      }
    }
  }

  private void requireOne(List<String> errors, String when, String a, String b) {
    if (!has(a) && !has(b) && !values.invalid().contains(a) && !values.invalid().contains(b)) {
      errors.add(a + " or " + b + " is required" + when + ": set one in the YAML file or with "
          + Param.envVar(a) + " or " + Param.envVar(b));
    }
  }

  private static String whereToSet(String key) {
    Param<?> p = ConfigParameters.byKey(key).orElseThrow();
    return p.secret() ? "set " + p.envVar() + " (from a Kubernetes Secret)"
        : "set it in the YAML file or with " + p.envVar();
  }

  private boolean has(String key) {
    return values.typed().containsKey(key);
  }

  private RetryPolicy.Settings retry() {
    Map<Operation, Duration> deadlines = new EnumMap<>(Operation.class);
    for (Operation op : Operation.values()) {
      deadlines.put(op, get("storage.retry." + op.label() + "-deadline"));
    }
    return new RetryPolicy.Settings(deadlines, get("storage.retry.first-backoff"),
        get("storage.retry.max-backoff"), (Integer) get("storage.retries"));
  }

  PgsidecarConfig build() {
    return new PgsidecarConfig(
        get("cluster"),
        get("pgdata"),
        get("socket"),
        new PgsidecarConfig.Http(opt("http.tcp-port"), opt("http.token-file"), get("http.shutdown-grace"),
            opt("http.admin-socket"), opt("http.socket-group"), get("http.socket-mode")),
        new PgsidecarConfig.Postgres(get("postgres.host"), (Integer) get("postgres.port"),
            get("postgres.user"), get("postgres.database"), opt("postgres.password-file"),
            this.<Path>opt("postgres.bin-dir").orElseGet(this::findBinDir), opt("postgres.password")),
        new PgsidecarConfig.StorageConfig(get("storage.type"), prefix(), opt("storage.path"), azure(),
            get("storage.timeout"), (Integer) get("storage.retries"), retry(), s3()),
        new PgsidecarConfig.Compression(get("compression.algorithm"), (Integer) get("compression.level"),
            (Integer) get("compression.workers")),
        new PgsidecarConfig.Encryption(list("encryption.public-keys"), opt("encryption.passphrase-file"),
            list("encryption.secret-keys"), opt("encryption.secret-key-passphrase-file")),
        new PgsidecarConfig.Wal((Integer) get("wal.lookahead-concurrency"), (Integer) get("wal.lookahead-max"),
            (Integer) get("wal.prefetch-count"), get("wal.spool-dir"), (Long) get("wal.spool-max-size"),
            (Integer) get("wal.compression-level")),
        new PgsidecarConfig.Backup(this.<Duration>get("backup.wal-wait-timeout"),
            get("backup.progress-interval"), (Integer) get("backup.compression-workers")),
        new PgsidecarConfig.Dump(list("dump.include"), list("dump.exclude"),
            (Boolean) get("dump.allow-overlap-with-backup")),
        new PgsidecarConfig.Metrics((Integer) get("metrics.port"), get("metrics.host")),
        new PgsidecarConfig.Schedule(opt("schedule.base-backup"), opt("schedule.dump"),
            this.<ZoneId>get("schedule.timezone"), opt("schedule.retention"), opt("schedule.verify")),
        new PgsidecarConfig.Restore((Boolean) get("restore.enabled"), get("restore.backup"),
            opt("restore.target-time"), opt("restore.target-lsn"), opt("restore.target-xid"),
            opt("restore.target-name"), (Boolean) get("restore.target-immediate"),
            (Boolean) get("restore.target-exclusive"), get("restore.target-action"),
            get("restore.target-timeline"), opt("restore.from-cluster"), get("restore.wal-archiver"),
            opt("restore.socket")),
        new RetentionPolicy(kindPolicy("base-backups"), kindPolicy("dumps"), get("retention.orphan-age"),
            new RetentionPolicy.Tiers(opt("retention.base-backups.tier.daily"),
                opt("retention.base-backups.tier.weekly"), opt("retention.base-backups.tier.monthly"),
                opt("retention.base-backups.tier.yearly"))),
        new PgsidecarConfig.Verify(get("verify.work-dir"), get("verify.run-as"),
            get("verify.probe-query"), get("verify.timeout")),
        new PgsidecarConfig.Log(get("log.format")));
  }

  private RetentionPolicy.KindPolicy kindPolicy(String kind) {
    String k = "retention." + kind + ".";
    return new RetentionPolicy.KindPolicy(this.<Integer>opt(k + "keep-newest").orElse(0),
        opt(k + "window"), new RetentionPolicy.Gfs((Integer) get(k + "gfs.daily"),
            (Integer) get(k + "gfs.weekly"), (Integer) get(k + "gfs.monthly"), (Integer) get(k + "gfs.yearly")));
  }

  private PgsidecarConfig.Azure azure() {
    return new PgsidecarConfig.Azure(get("storage.azure.auth"), opt("storage.azure.connection-string"),
        opt("storage.azure.endpoint"), opt("storage.azure.account"), opt("storage.azure.key-file"),
        opt("storage.azure.sas-token-file"), this.<String>opt("storage.azure.container").orElse(""),
        (Long) get("storage.azure.block-size"), (Integer) get("storage.azure.concurrency"),
        opt("storage.azure.client-id"));
  }

  private PgsidecarConfig.S3 s3() {
    return new PgsidecarConfig.S3(this.<String>opt("storage.s3.bucket").orElse(""),
        opt("storage.s3.endpoint"), opt("storage.s3.region"), (Boolean) get("storage.s3.path-style"),
        get("storage.s3.auth"), opt("storage.s3.access-key-id-file"),
        opt("storage.s3.secret-access-key-file"), get("storage.s3.server-side-encryption"),
        opt("storage.s3.kms-key-id"), opt("storage.s3.storage-class"),
        (Long) get("storage.s3.part-size"), (Integer) get("storage.s3.concurrency"));
  }

  /** The prefix without leading, trailing or doubled slashes, as RepositoryLayout keys use it. */
  private String prefix() {
    return this.<String>opt("storage.prefix")
        .map(p -> Arrays.stream(p.split("/+")).filter(s -> !s.isEmpty())
            .collect(Collectors.joining("/")))
        .orElse("");
  }

  /**
   * The Debian/Ubuntu path of PostgreSQL 15 when it holds pg_basebackup, else the first directory
   * on PATH that does (images based on the official postgres image put them on PATH).
   */
  private Path findBinDir() {
    if (Files.isExecutable(defaultBinDir.resolve("pg_basebackup"))) {
      return defaultBinDir;
    }
    String path = env.getOrDefault("PATH", "");
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "pg_basebackup"))) {
        return Path.of(dir);
      }
    }
    return defaultBinDir;
  }

  @SuppressWarnings("unchecked")
  private <T> T get(String key) {
    Object v = values.typed().get(key);
    if (v == null) {
      throw new IllegalStateException("no value nor default for " + key);
    }
    return (T) v;
  }

  @SuppressWarnings("unchecked")
  private <T> Optional<T> opt(String key) {
    return Optional.ofNullable((T) values.typed().get(key));
  }

  private <T> List<T> list(String key) {
    return this.<List<T>>opt(key).orElse(List.of());
  }
}
