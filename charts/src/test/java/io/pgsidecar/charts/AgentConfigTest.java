package io.pgsidecar.charts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.config.ConfigException;
import io.pgsidecar.core.config.ConfigLoader;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.S3Auth;
import io.pgsidecar.core.config.PgsidecarConfig.S3Encryption;
import io.pgsidecar.core.config.PgsidecarConfig.StorageType;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.factory.StorageFactory;
import io.pgsidecar.testkit.S3Server;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The agent's configuration as the agent and restore-init will read it: the rendered ConfigMap
 * plus each container's environment (Secret references stand for their values), loaded by the
 * project's own {@link ConfigLoader}, which refuses unknown keys, bad values and secrets in the
 * file. Every path the configuration names is checked against the container's mounts.
 */
class AgentConfigTest {

  @TempDir
  Path dir;

  @ParameterizedTest(name = "{0}")
  @MethodSource("io.pgsidecar.charts.ValueSets#all")
  void renderedConfigLoadsInTheAgentAndRestoreInit(String name, String[] sets) throws Exception {
    if (name.equals("defaults")) {
      return; // no storage account: see defaultsStopTheAgentAtStartUpNamingTheMissingAccount
    }
    Rendered r = Rendered.with(sets);
    for (String container : List.of("agent", "restore-init")) {
      JsonNode c = r.container(container);
      PgsidecarConfig config = load(r, c);
      String where = name + ", " + container;
      assertEquals(sets.length > 0 && List.of(sets).contains("cluster=orders") ? "orders" : "db1-pgsidecar",
          config.cluster(), where);
      assertUnder(c, "data", config.pgdata(), where + ": pgdata");
      if (container.equals("agent")) { // restore-init has no socket and no spool
        assertUnder(c, "pgsidecar", config.socket().getParent(), where + ": socket");
        assertUnder(c, "pgsidecar", config.wal().spoolDir(), where + ": wal spool");
      }
      assertEquals("127.0.0.1", config.postgres().host());
      assertEquals(Optional.of("secret db1-pgsidecar-postgres/POSTGRES_PASSWORD"), config.postgres().password(),
          where + ": password from the PostgreSQL Secret");
      assertEquals("postgres", config.postgres().user(), where + ": POSTGRES_USER absent means postgres");
      assertEquals(9187, config.metrics().port());
      assertEquals(Path.of("/pgsidecar/bin/wal-archiver"), Path.of(config.restore().walArchiver()));
      config.storage().path().ifPresent(p -> assertUnder(c, "repository", p, where + ": storage.path"));
      config.storage().azure().sasTokenFile().ifPresent(p -> assertUnder(c, "storage-secret", p, where));
      config.storage().azure().keyFile().ifPresent(p -> assertUnder(c, "storage-secret", p, where));
      config.storage().s3().accessKeyIdFile().ifPresent(p -> assertUnder(c, "storage-secret", p, where));
      config.storage().s3().secretAccessKeyFile().ifPresent(p -> assertUnder(c, "storage-secret", p, where));
      List<Path> encryptionFiles = new ArrayList<>(config.encryption().publicKeys());
      encryptionFiles.addAll(config.encryption().secretKeys());
      config.encryption().passphraseFile().ifPresent(encryptionFiles::add);
      config.encryption().secretKeyPassphraseFile().ifPresent(encryptionFiles::add);
      encryptionFiles.forEach(p -> assertUnder(c, "encryption", p, where + ": encryption"));
    }
    // The WAL client restore_command names is where PostgreSQL's container sees it.
    assertUnder(r.container("postgres"), "pgsidecar", Path.of("/pgsidecar/bin/wal-archiver"), name);
  }

  @Test
  void valuesBecomeTheMatchingConfigKeys() throws Exception {
    Rendered r = Rendered.with(ValueSets.ACCOUNT, "storage.prefix=prod/eu", "compression.level=9",
        "compression.walLevel=2", "backup.schedule=15 3 * * *", "dump.schedule=", "scheduleTimezone=Europe/Paris",
        "dump.exclude[0]=scratch", "restore.enabled=true", "restore.targetName=before-migration",
        "restore.targetAction=pause", "agent.config.wal.lookahead-max=32", "agent.config.storage.retries=9");
    PgsidecarConfig config = load(r, r.container("agent"));
    assertEquals(StorageType.AZURE, config.storage().type());
    assertEquals(AzureAuth.WORKLOAD_IDENTITY, config.storage().azure().auth());
    assertEquals(Optional.of("db1backups"), config.storage().azure().account());
    assertEquals("pgsidecar", config.storage().azure().container());
    assertEquals("prod/eu", config.storage().prefix());
    assertEquals(9, config.compression().level());
    assertEquals(2, config.wal().compressionLevel());
    assertEquals(Optional.of("15 3 * * *"), config.schedule().baseBackup());
    assertEquals(Optional.empty(), config.schedule().dump());
    assertEquals("Europe/Paris", config.schedule().timezone().getId());
    assertEquals(List.of("scratch"), config.dump().exclude());
    assertTrue(config.restore().enabled());
    assertEquals(Optional.of("before-migration"), config.restore().targetName());
    assertEquals("pause", config.restore().targetAction());
    assertEquals(32, config.wal().lookaheadMax(), "agent.config is merged over the generated keys");
    assertEquals(9, config.storage().retries());
  }

  @Test
  void logFormatIsTextByDefaultJsonWhenSetAndNothingElse() throws Exception {
    Rendered defaults = Rendered.with(ValueSets.ACCOUNT);
    PgsidecarConfig text = load(defaults, defaults.container("agent"));
    assertEquals("text", text.log().format());
    Rendered json = Rendered.with(ValueSets.ACCOUNT, "log.format=json");
    for (String container : List.of("agent", "restore-init")) {
      assertTrue(load(json, json.container(container)).log().json(), container);
    }
    String refused = Rendered.failureOf(ValueSets.ACCOUNT, "log.format=yaml");
    assertTrue(refused.contains("log.format") || refused.contains("/log/format"), refused);
  }

  @Test
  void retentionIsOffByDefaultAndItsValuesBecomeTheRetentionKeys() throws Exception {
    Rendered defaults = Rendered.with(ValueSets.ACCOUNT);
    PgsidecarConfig off = load(defaults, defaults.container("agent"));
    assertEquals(io.pgsidecar.core.retention.RetentionPolicy.none(), off.retention());
    assertEquals(Optional.empty(), off.schedule().retention());

    Rendered r = Rendered.with(ValueSets.ACCOUNT, "retention.schedule=0 5 * * *",
        "retention.orphanAge=2d", "retention.baseBackups.keepNewest=2",
        "retention.baseBackups.window=14d", "retention.baseBackups.gfs.daily=7",
        "retention.baseBackups.gfs.weekly=4", "retention.baseBackups.gfs.monthly=6",
        "retention.dumps.window=30d", "retention.dumps.gfs.yearly=1",
        "retention.baseBackups.tier.weekly=cool", "retention.baseBackups.tier.monthly=archive");
    PgsidecarConfig config = load(r, r.container("agent"));
    assertEquals(new io.pgsidecar.core.retention.RetentionPolicy(
        new io.pgsidecar.core.retention.RetentionPolicy.KindPolicy(2, Optional.of(java.time.Duration.ofDays(14)),
            new io.pgsidecar.core.retention.RetentionPolicy.Gfs(7, 4, 6, 0)),
        new io.pgsidecar.core.retention.RetentionPolicy.KindPolicy(0, Optional.of(java.time.Duration.ofDays(30)),
            new io.pgsidecar.core.retention.RetentionPolicy.Gfs(0, 0, 0, 1)),
        java.time.Duration.ofDays(2), new io.pgsidecar.core.retention.RetentionPolicy.Tiers(Optional.empty(),
            Optional.of("cool"), Optional.of("archive"), Optional.empty())), config.retention());
    assertEquals(Optional.of("0 5 * * *"), config.schedule().retention());
  }

  @Test
  void s3ValuesBecomeTheStorageS3KeysTheAgentAccepts() throws Exception {
    Rendered irsa = Rendered.with(ValueSets.ALL.get("S3 with IRSA"));
    for (String container : List.of("agent", "restore-init")) {
      PgsidecarConfig.S3 s3 = load(irsa, irsa.container(container)).storage().s3();
      assertEquals(new PgsidecarConfig.S3("db1-backups", Optional.empty(), Optional.of("eu-central-1"),
          false, S3Auth.DEFAULT, Optional.empty(), Optional.empty(), S3Encryption.AWS_KMS,
          Optional.of("arn:aws:kms:eu-central-1:123456789012:key/abcd"), Optional.of("STANDARD_IA"),
          8L << 20, 4), s3, container);
    }
    assertEquals(StorageType.S3, load(irsa, irsa.container("agent")).storage().type());

    Rendered keys = Rendered.with(ValueSets.ALL.get("S3-compatible with keys from an existing Secret"));
    PgsidecarConfig config = load(keys, keys.container("agent"));
    assertEquals(new PgsidecarConfig.S3("db1-backups",
        Optional.of("https://fsn1.your-objectstorage.com"), Optional.of("fsn1"), true, S3Auth.STATIC,
        Optional.of(Path.of("/etc/pgsidecar/storage/id")),
        Optional.of(Path.of("/etc/pgsidecar/storage/secret")), S3Encryption.NONE, Optional.empty(),
        Optional.empty(), 8L << 20, 4), config.storage().s3());

    Rendered tuned = Rendered.with(ValueSets.S3, ValueSets.BUCKET, "storage.prefix=prod",
        "agent.config.storage.s3.part-size=16MiB", "agent.config.storage.s3.concurrency=8");
    PgsidecarConfig t = load(tuned, tuned.container("agent"));
    assertEquals("prod", t.storage().prefix());
    assertEquals(16L << 20, t.storage().s3().partSize(), "agent.config is merged over storage.s3");
    assertEquals(8, t.storage().s3().concurrency());
  }

  /**
   * The S3 settings the chart renders for an S3-compatible store with a key pair open a real S3
   * API server (S3Mock): the loaded configuration goes to the driver factory the agent uses, the
   * start's probe (bucket readable, conditional writes kept) passes, and an object goes in and
   * comes back. The Secret's two files stand in at a local directory, the only change.
   */
  @Test
  void renderedS3SettingsOpenARealS3ServerAndPassTheStartsProbe() throws Exception {
    try (S3Server s3 = S3Server.s3Mock()) {
      Rendered r = Rendered.with(ValueSets.S3, "storage.s3.bucket=" + s3.bucket(),
          "storage.s3.endpoint=" + s3.endpoint(), "storage.s3.region=" + S3Server.REGION,
          "storage.s3.pathStyle=true", "storage.s3.auth=static", "storage.s3.existingSecret=keys");
      Path secret = Files.createDirectories(dir.resolve("storage-secret"));
      S3Server.writeSecret(secret.resolve("access-key-id"), S3Server.ACCESS_KEY);
      S3Server.writeSecret(secret.resolve("secret-access-key"), S3Server.SECRET_KEY);
      PgsidecarConfig config = load(r.agentConfig().replace("/etc/pgsidecar/storage/", secret + "/"),
          r.container("agent"));
      try (Storage storage = StorageFactory.open(config.storage())) {
        storage.probe();
        byte[] body = "from the chart".getBytes(StandardCharsets.UTF_8);
        storage.create("db1-pgsidecar/check", new ByteArrayInputStream(body),
            () -> new ObjectMetadata("", body.length, "", ""));
        try (InputStream in = storage.open("db1-pgsidecar/check").orElseThrow()) {
          assertEquals("from the chart", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertTrue(storage.describe().contains(s3.bucket()), storage.describe());
      }
    }
  }

  @Test
  void connectionStringComesFromTheSecretThroughTheEnvironment() throws Exception {
    Rendered r = Rendered.with("storage.azure.auth=connection-string", "storage.azure.existingSecret=azurite",
        "storage.azure.secretKey=cs");
    PgsidecarConfig config = load(r, r.container("agent"));
    assertEquals(AzureAuth.CONNECTION_STRING, config.storage().azure().auth());
    assertEquals(Optional.of("Secret=azurite/cs;AccountName=x"), config.storage().azure().connectionString());
    assertFalse(r.agentConfig().contains("connection-string:"), "never in the ConfigMap");
  }

  @Test
  void aSecretPutIntoAgentConfigIsRefusedByTheAgent() throws Exception {
    Rendered r = Rendered.with(ValueSets.ACCOUNT, "agent.config.postgres.password=hunter2");
    ConfigException e = assertThrows(ConfigException.class, () -> load(r, r.container("agent")));
    assertTrue(e.getMessage().contains("postgres.password in ") && e.getMessage().contains(
        "a secret is not read from the YAML file"), e.getMessage());
  }

  @Test
  void defaultsStopTheAgentAtStartUpNamingTheMissingAccount() throws Exception {
    Rendered r = Rendered.with();
    ConfigException e = assertThrows(ConfigException.class, () -> load(r, r.container("agent")));
    assertEquals(List.of("storage.azure.account or storage.azure.endpoint is required when storage.azure.auth"
        + " is workload-identity: set one in the YAML file or with PGSIDECAR_STORAGE_AZURE_ACCOUNT or"
        + " PGSIDECAR_STORAGE_AZURE_ENDPOINT"), e.errors());
  }

  /** Loads the rendered config as `container` would: its file, its environment. */
  private PgsidecarConfig load(Rendered r, JsonNode container) throws Exception {
    return load(r.agentConfig(), container);
  }

  /** As above, with the configuration file's text given. */
  private PgsidecarConfig load(String agentConfig, JsonNode container) throws Exception {
    Path file = Files.createTempFile(dir, "pgsidecar", ".yaml");
    Files.writeString(file, agentConfig);
    Map<String, String> env = new HashMap<>();
    for (JsonNode e : container.path("env")) {
      JsonNode ref = e.at("/valueFrom/secretKeyRef");
      if (e.has("value")) {
        env.put(e.path("name").asText(), e.path("value").asText());
      } else if (!ref.isMissingNode() && !ref.path("optional").asBoolean()) {
        // A stand-in for the Secret's value, shaped as the key expects, naming where it came from.
        String from = ref.path("name").asText() + "/" + ref.path("key").asText();
        env.put(e.path("name").asText(), e.path("name").asText().endsWith("CONNECTION_STRING")
            ? "Secret=" + from + ";AccountName=x" : "secret " + from);
      }
    }
    assertEquals("/etc/pgsidecar/config/pgsidecar.yaml", env.get("PGSIDECAR_CONFIG"));
    assertUnder(container, "config", Path.of(env.remove("PGSIDECAR_CONFIG")), "config file");
    return ConfigLoader.load(Optional.of(file), env);
  }

  /** `path` lies inside the mount of `volume` in `container`. */
  private static void assertUnder(JsonNode container, String volume, Path path, String what) {
    String mount = Rendered.mountPath(container, volume);
    assertTrue(mount != null, what + ": " + container.path("name").asText() + " does not mount " + volume);
    assertTrue(path.normalize().startsWith(Path.of(mount)), what + ": " + path + " is not under "
        + volume + " mounted at " + mount + " in " + container.path("name").asText());
  }
}
