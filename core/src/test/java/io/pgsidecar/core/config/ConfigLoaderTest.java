package io.pgsidecar.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.config.PgsidecarConfig.StorageType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

  @TempDir Path dir;

  private static final Map<String, String> MINIMAL =
      Map.of("PGSIDECAR_CLUSTER", "main", "PGSIDECAR_STORAGE_PATH", "/repo");

  private Path yaml(String text) throws IOException {
    Path f = dir.resolve("pgsidecar.yaml");
    Files.writeString(f, text);
    return f;
  }

  private static List<String> errors(Optional<Path> file, Map<String, String> env) {
    return assertThrows(ConfigException.class, () -> ConfigLoader.load(file, env)).errors();
  }

  @Test
  void environmentVariableIsPrefixPlusKeyUpperCasedWithDotsAndDashesAsUnderscores() {
    assertEquals("PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING",
        Param.envVar("storage.azure.connection-string"));
    assertEquals("PGSIDECAR_CLUSTER", Param.envVar("cluster"));
    for (Param<?> p : ConfigParameters.ALL) {
      assertEquals(Param.ENV_PREFIX + p.key().toUpperCase().replaceAll("[.-]", "_"), p.envVar());
      // Words of lower-case letters (and digits after the first letter: storage.s3.*).
      assertTrue(p.key().matches("[a-z][a-z0-9]*(-[a-z]+)*(\\.[a-z][a-z0-9]*(-[a-z]+)*)*"), p.key());
    }
  }

  @Test
  void onlyClusterAndStoragePathGiveAPodReadyConfigWithTheDocumentedDefaults() {
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), MINIMAL);
    assertEquals("main", c.cluster());
    assertEquals(Path.of("/pgsidecar/run/agent.sock"), c.socket());
    assertEquals(Path.of("/run/pgsidecar/admin.sock"), c.adminSocket());
    assertEquals(Optional.empty(), c.http().socketGroup());
    assertEquals("0660", c.http().socketMode());
    assertEquals(Path.of("/var/lib/postgresql/data/pgdata"), c.pgdata());
    assertEquals(StorageType.FS, c.storage().type());
    assertEquals(Optional.of(Path.of("/repo")), c.storage().path());
    assertEquals("", c.storage().prefix());
    assertEquals(Duration.ofSeconds(60), c.storage().timeout());
    assertEquals(5, c.storage().retries());
    assertEquals(8L << 20, c.storage().azure().blockSize());
    assertEquals(4, c.storage().azure().concurrency());
    assertEquals(AzureAuth.DEFAULT, c.storage().azure().auth());
    assertEquals(new PgsidecarConfig.Compression("zstd", 3, 0), c.compression());
    assertEquals(new PgsidecarConfig.Wal(4, 16, 8, Path.of("/pgsidecar/spool"), 1L << 30, 3), c.wal());
    assertEquals(new PgsidecarConfig.Metrics(9187, "0.0.0.0"), c.metrics());
    assertEquals(Duration.ofSeconds(30), c.http().shutdownGrace());
    assertEquals(Optional.empty(), c.http().tcpPort());
    assertEquals(new PgsidecarConfig.Backup(Duration.ofMinutes(10), Duration.ofSeconds(30)), c.backup());
    assertEquals(ZoneId.of("UTC"), c.schedule().timezone());
    assertEquals(Optional.empty(), c.schedule().baseBackup());
    assertFalse(c.encryption().enabled());
    assertEquals("localhost", c.postgres().host());
    assertEquals(5432, c.postgres().port());
    assertEquals("postgres", c.postgres().user());
    assertEquals(Optional.empty(), c.postgres().password());
  }

  @Test
  void nestedYamlMapsAreDottedKeysAndEnvironmentOverridesYaml() throws IOException {
    Path f = yaml("""
        cluster: from-yaml
        storage:
          type: azure
          prefix: /team-a//pg/
          azure:
            account: acct1
            container: backups
            block-size: 16MiB
        encryption:
          public-keys: [/keys/a.asc, /keys/b.asc]
        dump:
          include:
            - app
            - shop
        wal.prefetch-count: 2
        wal:
          compression-level: 2
        """);
    PgsidecarConfig c = ConfigLoader.load(Optional.of(f),
        Map.of("PGSIDECAR_CLUSTER", "from-env", "PGSIDECAR_STORAGE_AZURE_BLOCK_SIZE", "4MiB",
            "PGSIDECAR_DUMP_EXCLUDE", "template1, scratch", "PGSIDECAR_WAL_COMPRESSION_LEVEL", "5"));
    assertEquals("from-env", c.cluster());
    assertEquals(StorageType.AZURE, c.storage().type());
    assertEquals("team-a/pg", c.storage().prefix());
    assertEquals(Optional.of("acct1"), c.storage().azure().account());
    assertEquals("backups", c.storage().azure().container());
    assertEquals(4L << 20, c.storage().azure().blockSize());
    assertEquals(List.of(Path.of("/keys/a.asc"), Path.of("/keys/b.asc")), c.encryption().publicKeys());
    assertTrue(c.encryption().enabled());
    assertEquals(List.of("app", "shop"), c.dump().include());
    assertEquals(List.of("template1", "scratch"), c.dump().exclude());
    assertEquals(2, c.wal().prefetchCount());
    assertEquals(5, c.wal().compressionLevel());
  }

  @Test
  void theAdminSocketCannotBeTheHookSocketAndTheModeMustBeOctal() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
        Map.of("PGSIDECAR_CLUSTER", "main", "PGSIDECAR_STORAGE_PATH", "/repo",
            "PGSIDECAR_SOCKET", "/run/a.sock", "PGSIDECAR_HTTP_ADMIN_SOCKET", "/run/./a.sock",
            "PGSIDECAR_HTTP_SOCKET_MODE", "0680", "PGSIDECAR_HTTP_SOCKET_GROUP", "postgres")));
    assertEquals(2, e.errors().size(), e.getMessage());
    assertEquals("http.socket-mode: expected an octal mode like 0660, got '0680' (from"
        + " PGSIDECAR_HTTP_SOCKET_MODE)", e.errors().get(0));
    assertEquals("http.admin-socket and socket are both /run/a.sock: the admin socket must be"
        + " another path, in a directory only the agent's container mounts (PostgreSQL's container"
        + " sees the hook socket)", e.errors().get(1));
  }

  @Test
  void launcherAndWalArchiverVariablesInTheAgentsEnvironmentAreNotConfigErrors() {
    // one container environment often serves the agent, bin/pgsidecar and wal-archiver
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "main",
        "PGSIDECAR_STORAGE_PATH", "/repo", "PGSIDECAR_WAL_ARCHIVER_CURL", "off",
        "PGSIDECAR_WAL_ARCHIVER_CDS", "off", "PGSIDECAR_CDS", "off", "PGSIDECAR_WAIT", "30s",
        "PGSIDECAR_SOCKET", "/run/a.sock"));
    assertEquals(Path.of("/run/a.sock"), c.socket());
  }

  @Test
  void libpqVariablesFillPostgresKeysThatNeitherYamlNorPgsidecarVariablesSet() throws IOException {
    Path f = yaml("postgres:\n  user: from-yaml\n");
    PgsidecarConfig c = ConfigLoader.load(Optional.of(f), Map.of(
        "PGSIDECAR_CLUSTER", "main", "PGSIDECAR_STORAGE_PATH", "/repo",
        "PGHOST", "/run/postgresql", "PGPORT", "5433", "PGUSER", "libpq-user",
        "PGDATABASE", "app", "PGPASSFILE", "/secrets/pgpass", "PGPASSWORD", "s3cret",
        "PGSIDECAR_POSTGRES_PORT", "6000"));
    assertEquals("/run/postgresql", c.postgres().host());
    assertEquals(6000, c.postgres().port());
    assertEquals("from-yaml", c.postgres().user());
    assertEquals("app", c.postgres().database());
    assertEquals(Optional.of(Path.of("/secrets/pgpass")), c.postgres().passwordFile());
    assertEquals(Optional.of("s3cret"), c.postgres().password());
    assertFalse(c.postgres().toString().contains("s3cret"), c.postgres().toString());
  }

  @Test
  void aBadLibpqValueNamesTheLibpqVariable() {
    assertEquals(List.of("postgres.port: expected an integer from 1 to 65535, got 'x' (from PGPORT)"),
        errors(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "main", "PGSIDECAR_STORAGE_PATH", "/r",
            "PGPORT", "x")));
  }

  @Test
  void binDirFallsBackToTheDirectoryOfPgBasebackupOnPath() throws IOException {
    Path bin = Files.createDirectories(dir.resolve("pgbin"));
    Path tool = Files.writeString(bin.resolve("pg_basebackup"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
    Map<String, String> env = Map.of("PGSIDECAR_CLUSTER", "main", "PGSIDECAR_STORAGE_PATH", "/r",
        "PATH", "/nonexistent:" + bin);
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), env, dir.resolve("no-installations"));
    assertEquals(bin, c.postgres().binDir());
  }

  @Test
  void everyProblemIsReportedAtOnceWithExactTexts() throws IOException {
    Path f = yaml("""
        storage:
          type: azure
          azure:
            acount: acct1
            block-size: big
            auth: workload_identity
        metrics:
          port: 70000
        schedule:
          base-backup: "0 3 * *"
        """);
    List<String> errors = errors(Optional.of(f), Map.of(
        "PGSIDECAR_COMPRESION_LEVEL", "9", "PGSIDECAR_WAL_SPOOL_MAX_SIZE", "2GB",
        "PGSIDECAR_CONFIG", "/ignored.yaml", "HOME", "/root"));
    assertEquals(List.of(
        "unknown key 'storage.azure.acount' in " + f + ": did you mean 'storage.azure.account'?",
        "unknown environment variable PGSIDECAR_COMPRESION_LEVEL: did you mean PGSIDECAR_COMPRESSION_LEVEL?",
        "storage.azure.auth: expected one of connection-string, shared-key, sas, workload-identity, "
            + "managed-identity, default, got 'workload_identity' (from " + f + ")",
        "storage.azure.block-size: expected a size such as 8MiB (units B, KiB, MiB, GiB, TiB) from "
            + "64KiB to 4000MiB, got 'big' (from " + f + ")",
        "wal.spool-max-size: expected a size such as 8MiB (units B, KiB, MiB, GiB, TiB), got '2GB' "
            + "(from PGSIDECAR_WAL_SPOOL_MAX_SIZE)",
        "metrics.port: expected an integer from 0 to 65535, got '70000' (from " + f + ")",
        "schedule.base-backup: expected a cron expression of 5 fields (minute hour day-of-month month "
            + "day-of-week) such as '0 3 * * *', got '0 3 * *' (from " + f + ")",
        "cluster is required: set it in the YAML file or with PGSIDECAR_CLUSTER",
        "storage.azure.container is required when storage.type is azure: set it in the YAML file or "
            + "with PGSIDECAR_STORAGE_AZURE_CONTAINER"), errors);
  }

  @Test
  void theExceptionMessageListsEveryError() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ConfigLoader.load(Optional.empty(), Map.of("PGSIDECAR_STORAGE_PATH", "/r")));
    assertEquals("""
        invalid configuration (1 error; every key is listed in docs/configuration.md):
          - cluster is required: set it in the YAML file or with PGSIDECAR_CLUSTER""", e.getMessage());
  }

  @Test
  void aKeyWrittenWithoutItsSectionIsMatchedToTheFullKey() throws IOException {
    Path f = yaml("cluster: main\nstorage:\n  path: /r\naccount: x\nfoo-bar-baz: 1\n");
    assertEquals(List.of(
        "unknown key 'account' in " + f + ": did you mean 'storage.azure.account'?",
        "unknown key 'foo-bar-baz' in " + f + ": no such key (see docs/configuration.md)"),
        errors(Optional.of(f), Map.of()));
  }

  @Test
  void aValueGivenToASectionSaysItIsASection() throws IOException {
    Path f = yaml("cluster: main\nstorage: azure\n");
    assertEquals(List.of(
        "'storage' in " + f + " is a section, not a value: write its keys under it, e.g. 'storage.type'",
        "storage.path is required when storage.type is fs: set it in the YAML file or with "
            + "PGSIDECAR_STORAGE_PATH"), errors(Optional.of(f), Map.of()));
  }

  @Test
  void storagePathIsRequiredForFilesystemStorage() {
    assertEquals(List.of("storage.path is required when storage.type is fs: set it in the YAML file "
        + "or with PGSIDECAR_STORAGE_PATH"), errors(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "c")));
  }

  @Test
  void eachAzureAuthNamesWhatItNeeds() {
    Map<String, List<String>> expected = Map.of(
        "connection-string", List.of("storage.azure.connection-string is required when "
            + "storage.azure.auth is connection-string: set PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING "
            + "(from a Kubernetes Secret)"),
        "shared-key", List.of(
            "storage.azure.account is required when storage.azure.auth is shared-key: set it in the "
                + "YAML file or with PGSIDECAR_STORAGE_AZURE_ACCOUNT",
            "storage.azure.key-file is required when storage.azure.auth is shared-key: set it in the "
                + "YAML file or with PGSIDECAR_STORAGE_AZURE_KEY_FILE"),
        "sas", List.of(
            "storage.azure.sas-token-file is required when storage.azure.auth is sas: set it in the "
                + "YAML file or with PGSIDECAR_STORAGE_AZURE_SAS_TOKEN_FILE",
            "storage.azure.account or storage.azure.endpoint is required when storage.azure.auth is "
                + "sas: set one in the YAML file or with PGSIDECAR_STORAGE_AZURE_ACCOUNT or "
                + "PGSIDECAR_STORAGE_AZURE_ENDPOINT"),
        "workload-identity", List.of("storage.azure.account or storage.azure.endpoint is required "
            + "when storage.azure.auth is workload-identity: set one in the YAML file or with "
            + "PGSIDECAR_STORAGE_AZURE_ACCOUNT or PGSIDECAR_STORAGE_AZURE_ENDPOINT"));
    expected.forEach((auth, errs) -> assertEquals(errs, errors(Optional.empty(), Map.of(
        "PGSIDECAR_CLUSTER", "c", "PGSIDECAR_STORAGE_TYPE", "azure",
        "PGSIDECAR_STORAGE_AZURE_CONTAINER", "backups", "PGSIDECAR_STORAGE_AZURE_AUTH", auth)), auth));
  }

  @Test
  void azureWithConnectionStringFromTheEnvironmentLoads() {
    String cs = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=SECRETKEY==;"
        + "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "c",
        "PGSIDECAR_STORAGE_TYPE", "azure", "PGSIDECAR_STORAGE_AZURE_CONTAINER", "backups",
        "PGSIDECAR_STORAGE_AZURE_AUTH", "connection-string",
        "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING", cs));
    assertEquals(Optional.of(cs), c.storage().azure().connectionString());
    assertFalse(c.toString().contains("SECRETKEY"), c.toString());
  }

  @Test
  void secretValuesAreNeverEchoedInErrors() throws IOException {
    Path f = yaml("storage:\n  azure:\n    connection-string: AccountKey=SECRETKEY\n");
    List<String> errors = errors(Optional.of(f), Map.of("PGSIDECAR_CLUSTER", "c",
        "PGSIDECAR_STORAGE_TYPE", "azure", "PGSIDECAR_STORAGE_AZURE_CONTAINER", "backups",
        "PGSIDECAR_STORAGE_AZURE_ACCOUNT", "acct1",
        "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING", "SECRETKEY-without-equals"));
    assertEquals(List.of(
        "storage.azure.connection-string in " + f + ": a secret is not read from the YAML file (it is "
            + "usually a ConfigMap); set PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING from a Kubernetes "
            + "Secret instead",
        "storage.azure.connection-string: expected key=value pairs separated by ';' such as "
            + "AccountName=...;AccountKey=..., got <redacted> (from "
            + "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING)"), errors);
    assertFalse(String.join("\n", errors).contains("SECRETKEY"));
  }

  @Test
  void aConnectionStringWithAnotherAuthIsAContradiction() {
    assertEquals(List.of("storage.azure.connection-string is set but storage.azure.auth is default: "
        + "set storage.azure.auth to connection-string, or remove the connection string"),
        errors(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "c", "PGSIDECAR_STORAGE_TYPE", "azure",
            "PGSIDECAR_STORAGE_AZURE_CONTAINER", "backups", "PGSIDECAR_STORAGE_AZURE_ACCOUNT", "acct1",
            "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING", "AccountName=a;AccountKey=b")));
  }

  @Test
  void tcpListenerNeedsATokenFile() {
    Map<String, String> env = new java.util.HashMap<>(MINIMAL);
    env.put("PGSIDECAR_HTTP_TCP_PORT", "8008");
    assertEquals(List.of("http.token-file is required when http.tcp-port is set: set it in the YAML "
        + "file or with PGSIDECAR_HTTP_TOKEN_FILE"), errors(Optional.empty(), env));
  }

  @Test
  void emptyValuesCountAsUnset() throws IOException {
    Path f = yaml("cluster: main\nstorage:\n  path: /r\nhttp:\n  tcp-port:\n");
    PgsidecarConfig c = ConfigLoader.load(Optional.of(f), Map.of("PGSIDECAR_METRICS_PORT", ""));
    assertEquals(Optional.empty(), c.http().tcpPort());
    assertEquals(9187, c.metrics().port());
  }

  @Test
  void unreadableOrMalformedFilesAreReportedWithTheirPath() throws IOException {
    Path missing = dir.resolve("missing.yaml");
    assertEquals(List.of("cannot read config file " + missing + ": it does not exist",
        "cluster is required: set it in the YAML file or with PGSIDECAR_CLUSTER"),
        errors(Optional.of(missing), Map.of("PGSIDECAR_STORAGE_PATH", "/r")));
    Path list = yaml("- a\n- b\n");
    assertEquals(List.of("config file " + list + " must hold a map of keys at its top level"),
        errors(Optional.of(list), MINIMAL));
    Path broken = yaml("cluster: [unclosed\n");
    List<String> errs = errors(Optional.of(broken), MINIMAL);
    assertEquals(1, errs.size());
    assertTrue(errs.get(0).startsWith("config file " + broken + " is not valid YAML: "), errs.get(0));
  }

  @Test
  void anEmptyFileMeansDefaults() throws IOException {
    assertEquals("main", ConfigLoader.load(Optional.of(yaml("")), MINIMAL).cluster());
  }
}
