package io.pgsidecar.agent.dump;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.agent.postgres.PgConnection;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import picocli.CommandLine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dumps a real PostgreSQL 15 server to Azurite through zstd and OpenPGP (passphrase) (two databases, several schemas, a table of about 17 MB, a
 * role with a SCRAM password, contrib extensions) and restores it into a second real server.
 */
class DumpRestoreTest {

  @RegisterExtension
  static final PostgresCluster source = PostgresCluster.builder()
      .setting("password_encryption", "scram-sha-256").build();

  @RegisterExtension
  static final PostgresCluster target = PostgresCluster.builder().build();

  static Azurite azurite;
  static Storage storage;
  static Path keys;
  static CodecPipeline pipeline;
  static final RepositoryLayout layout = new RepositoryLayout("test", "src");
  static final List<String> SHOP_TABLES = List.of("sales.orders", "sales.customers",
      "inventory.items", "public.secrets");
  static DumpManifest manifest;

  @BeforeAll
  static void fillSourceAndDump() throws Exception {
    azurite = Azurite.launch();
    storage = azureStorage();
    keys = Files.createTempDirectory("pgsidecar-dump-keys-");
    pipeline = passphrasePipeline("the right passphrase");
    source.sql("CREATE ROLE app LOGIN PASSWORD 'S3cret'");
    source.sql("CREATE DATABASE shop OWNER app");
    source.sql("CREATE DATABASE crm");
    execute(source, "shop", """
        CREATE EXTENSION pgcrypto;
        CREATE SCHEMA sales AUTHORIZATION app;
        CREATE SCHEMA inventory;
        CREATE TABLE sales.customers (id int PRIMARY KEY, name text NOT NULL);
        INSERT INTO sales.customers SELECT g, 'customer ' || g FROM generate_series(1, 1000) g;
        CREATE TABLE sales.orders (id bigint PRIMARY KEY, customer int REFERENCES sales.customers,
          amount numeric(12,2), note text);
        INSERT INTO sales.orders SELECT g, 1 + g % 1000, (g % 9973) / 100.0,
          md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 200000) g;
        ALTER TABLE sales.orders OWNER TO app;
        CREATE INDEX orders_customer ON sales.orders (customer);
        CREATE TABLE inventory.items (sku text PRIMARY KEY, qty int);
        INSERT INTO inventory.items SELECT 'sku-' || g, g FROM generate_series(1, 500) g;
        CREATE TABLE public.secrets (id int, digest text);
        INSERT INTO public.secrets SELECT g, encode(digest(g::text, 'sha256'), 'hex')
          FROM generate_series(1, 100) g;
        CREATE VIEW sales.big_orders AS SELECT * FROM sales.orders WHERE amount > 90;
        """);
    execute(source, "crm", """
        CREATE EXTENSION hstore;
        CREATE SCHEMA people;
        CREATE TABLE people.contacts (id int PRIMARY KEY, attrs hstore);
        INSERT INTO people.contacts SELECT g, hstore('city', 'city ' || (g % 50))
          FROM generate_series(1, 5000) g;
        """);
    manifest = service(source, "postgres", storage).create(List.of(), "it");
  }

  @AfterAll
  static void stopAzurite() throws IOException {
    storage.close();
    azurite.close();
    try (var files = Files.list(keys)) {
      for (Path f : files.toList()) {
        Files.delete(f);
      }
    }
    Files.delete(keys);
  }

  static Storage azureStorage() throws IOException {
    return AzureStorage.open(new PgsidecarConfig.Azure(PgsidecarConfig.AzureAuth.CONNECTION_STRING,
        Optional.of(azurite.connectionString()), Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), azurite.container(), 4 << 20, 4, Optional.empty()));
  }

  /** zstd, then OpenPGP to a passphrase: the production pipeline, built from config records. */
  static CodecPipeline passphrasePipeline(String passphrase) throws IOException {
    Path file = Files.writeString(keys.resolve(Integer.toHexString(passphrase.hashCode())), passphrase);
    return Pipelines.forConfig(new PgsidecarConfig.Compression("zstd", 3, 0),
        new PgsidecarConfig.Encryption(List.of(), Optional.of(file), List.of(), Optional.empty()));
  }

  static DumpService service(PostgresCluster cluster, String user, Storage into) {
    return new DumpService(into, pipeline, layout, new PgTool(cluster.binDir()),
        new PgConnection("127.0.0.1", cluster.port(), user, "postgres", Optional.empty(), Map.of()),
        new PgsidecarConfig.Dump(List.of(), List.of(), false),
        Executors.newVirtualThreadPerTaskExecutor(), Clock.systemUTC(), Optional::empty);
  }

  static DumpRestorer restorer(CodecPipeline withPipeline) {
    return new DumpRestorer(storage, withPipeline, layout, new PgTool(target.binDir()));
  }

  static PgConnection targetConnection() {
    return new PgConnection("127.0.0.1", target.port(), "postgres", "", Optional.empty(), Map.of());
  }

  @Test
  void dumpRecordsEveryConnectableDatabaseWithChecksums() throws IOException {
    assertEquals(List.of("crm", "postgres", "shop"),
        manifest.databases().stream().map(DumpManifest.Entry::name).toList());
    DumpManifest stored = service(source, "postgres", storage).readManifest(manifest.id()).orElseThrow();
    assertEquals(manifest, stored);
    DumpManifest.Entry shop = manifest.database("shop").orElseThrow();
    assertEquals("test/src/dumps/" + manifest.id() + "/shop.dump.zst.pgp", shop.key());
    assertTrue(shop.rawSize() > 15_000_000, "pg_dump -Z0 output is uncompressed: " + shop.rawSize());
    assertTrue(shop.storedSize() < shop.rawSize() * 3 / 5, "stored through zstd: " + shop.storedSize());
    assertEquals(pipeline.keyFingerprint(), shop.keyFingerprint());
    assertEquals("zstd+pgp", shop.codec());
    assertFalse(shop.keyFingerprint().isEmpty());
    assertTrue(manifest.serverVersion().startsWith("15."), manifest.serverVersion());
    assertEquals(storage.stat(shop.key()).orElseThrow().metadata().plainSha256(), shop.plainSha256());
  }

  @Test
  void restoreUnderAnotherNameKeepsEveryTableAndTheRolesPassword() throws Exception {
    Files.writeString(target.pgdata().resolve("pg_hba.conf"), """
        local all all trust
        host all postgres 127.0.0.1/32 trust
        host all all 127.0.0.1/32 scram-sha-256
        """);
    target.sql("SELECT pg_reload_conf()");

    DumpRestorer.Result result = restorer(pipeline).restore(manifest.id(), "shop",
        targetConnection(), RestoreOptions.defaults().withAs("shop_copy").withGlobals());

    assertEquals("shop_copy", result.database());
    assertEquals(List.of("postgres"), result.keptRoles());
    for (String table : SHOP_TABLES) {
      assertEquals(checksum(source, "shop", table), checksum(target, "shop_copy", table), table);
    }
    assertEquals(source.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'"),
        target.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'"));
    assertEquals("app", query(target, "shop_copy", "SELECT tableowner FROM pg_tables"
        + " WHERE schemaname = 'sales' AND tablename = 'orders'"));
    String url = "jdbc:postgresql://127.0.0.1:" + target.port() + "/shop_copy?user=app";
    try (Connection c = DriverManager.getConnection(url + "&password=S3cret");
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM sales.orders")) {
      rs.next();
      assertEquals(200_000, rs.getLong(1));
    }
    SQLException wrong = assertThrows(SQLException.class,
        () -> DriverManager.getConnection(url + "&password=wrong").close());
    assertTrue(wrong.getMessage().contains("password authentication failed for user \"app\""),
        wrong.getMessage());
  }

  @Test
  void parallelRestoreGoesThroughATempFileAndRemovesIt(@TempDir Path temp) throws Exception {
    target.sql("CREATE DATABASE crm_parallel");
    restorer(pipeline).restore(manifest.id(), "crm", targetConnection().withDatabase("postgres"),
        RestoreOptions.defaults().withAs("crm_parallel").withClean().withJobs(2, temp));

    assertEquals(checksum(source, "crm", "people.contacts"),
        checksum(target, "crm_parallel", "people.contacts"));
    try (var files = Files.list(temp)) {
      assertEquals(0, files.count(), "the decoded temp file is deleted after the restore");
    }
  }

  @Test
  void selectiveRestoreOfOneTable() throws Exception {
    restorer(pipeline).restore(manifest.id(), "shop", targetConnection(),
        RestoreOptions.defaults().withAs("shop_one").withTables(List.of("secrets")));

    assertEquals(checksum(source, "shop", "public.secrets"), checksum(target, "shop_one", "public.secrets"));
    assertEquals("1", query(target, "shop_one",
        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"));
  }

  @Test
  void listPrintsTheTableOfContentsAndUseListRestoresThatSelection(@TempDir Path temp)
      throws Exception {
    java.io.StringWriter out = new java.io.StringWriter();
    restorer(pipeline).list(manifest.id(), "shop", out);
    String toc = out.toString();
    assertTrue(toc.contains("TABLE DATA sales orders app"), toc);
    assertTrue(toc.contains("EXTENSION - pgcrypto"), toc);

    Path list = temp.resolve("inventory.list");
    Files.writeString(list, toc.lines().filter(l -> l.contains(" inventory "))
        .collect(Collectors.joining("\n", "", "\n")));
    restorer(pipeline).restore(manifest.id(), "shop", targetConnection(),
        new RestoreOptions(Optional.of("shop_inventory"), false, false, false, false, false, false,
            List.of(), 1, Optional.of(list), null));

    assertEquals(checksum(source, "shop", "inventory.items"),
        checksum(target, "shop_inventory", "inventory.items"));
    assertEquals("0", query(target, "shop_inventory",
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'sales'"));
  }

  @Test
  void cleanReplacesChangedObjectsOfAnExistingDatabaseAndNothingIsDroppedWithoutIt()
      throws Exception {
    RestoreOptions into = RestoreOptions.defaults().withAs("shop_clean").withGlobals();
    restorer(pipeline).restore(manifest.id(), "shop", targetConnection(), into);
    execute(target, "shop_clean", """
        DELETE FROM sales.orders WHERE id % 2 = 0;
        UPDATE inventory.items SET qty = 0;
        CREATE TABLE public.kept (x int);
        """);

    JobException refused = assertThrows(JobException.class, () ->
        restorer(pipeline).restore(manifest.id(), "shop", targetConnection(), into));
    assertEquals(JobException.Kind.CONFLICT, refused.kind());
    assertEquals("database shop_clean already exists on postgres@127.0.0.1:" + target.port()
        + "/postgres; restore with --clean to replace the dumped objects in it, or choose another"
        + " --as name", refused.getMessage());

    restorer(pipeline).restore(manifest.id(), "shop", targetConnection(), into.withClean());
    for (String table : SHOP_TABLES) {
      assertEquals(checksum(source, "shop", table), checksum(target, "shop_clean", table), table);
    }
    assertEquals("0", query(target, "shop_clean", "SELECT count(*) FROM public.kept"),
        "objects that are not in the dump stay");
  }

  @Test
  void wrongDecryptionKeyFailsBeforeTheTargetIsTouched() throws Exception {
    String databases = target.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");
    String roles = target.sql("SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles");

    IOException e = assertThrows(IOException.class, () ->
        restorer(passphrasePipeline("a wrong passphrase")).restore(manifest.id(), "shop",
            targetConnection(), RestoreOptions.defaults().withAs("shop_wrong").withGlobals()));

    assertEquals("object test/src/dumps/" + manifest.id() + "/shop.dump.zst.pgp does not decrypt"
        + " with the passphrase in encryption.passphrase-file (wrong passphrase): configure the"
        + " passphrase it was written with", e.getMessage());
    assertEquals(databases,
        target.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"));
    assertEquals(roles, target.sql("SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles"));
  }

  @Test
  void failedPgDumpallLeavesAFailureRecordWithItsStderrAndNoDump(@TempDir Path repo)
      throws Exception {
    source.sql("CREATE ROLE weak LOGIN");
    Storage own = new FsStorage(repo);
    DumpService weak = service(source, "weak", own);

    JobException e = assertThrows(JobException.class,
        () -> weak.create(List.of("shop"), "no rights"));

    assertEquals(JobException.Kind.FAILED, e.kind());
    String id = (String) e.details().get("id");
    assertTrue(e.getMessage().startsWith("dump " + id + " failed on globals: pg_dumpall failed"
        + " (exit code 1) while dumping globals of weak@127.0.0.1:" + source.port() + "/postgres: "),
        e.getMessage());
    assertTrue(e.details().get("stderr").toString().contains("permission denied for table pg_authid"),
        e.details().toString());
    DumpStatus status = weak.show(id).orElseThrow();
    assertEquals(DumpStatus.State.FAILED, status.state());
    assertEquals("no rights", status.label());
    assertEquals(e.getMessage(), status.failure().message());
    assertEquals(e.details().get("stderr"), status.failure().stderr());
    assertEquals(List.of(layout.dumpDir(id) + "failure.json"),
        own.list(layout.dumpRoot()).map(o -> o.key()).toList());
    assertFalse(weak.readManifest(id).isPresent());
  }

  /**
   * pg_dump dies after writing part of its archive: the part never becomes an object, the
   * globals already stored are removed, and failure.json keeps pg_dump's last words.
   */
  @Test
  void pgDumpDyingMidStreamLeavesNoObjectButTheFailureRecord(@TempDir Path dir) throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    for (String real : List.of("psql", "pg_dumpall")) {
      Files.createSymbolicLink(bin.resolve(real), source.binDir().resolve(real));
    }
    Path pgDump = bin.resolve("pg_dump");
    Files.writeString(pgDump, "#!/bin/sh\nhead -c 3000000 /dev/zero\n"
        + "echo 'pg_dump: error: Dumping the contents of table \"orders\" failed' >&2\nexit 1\n");
    pgDump.toFile().setExecutable(true);
    Storage own = new FsStorage(Files.createDirectories(dir.resolve("repo")));
    DumpService service = new DumpService(own, pipeline, layout, new PgTool(bin),
        new PgConnection("127.0.0.1", source.port(), "postgres", "postgres", Optional.empty(),
            Map.of()), new PgsidecarConfig.Dump(List.of(), List.of(), false),
        Executors.newVirtualThreadPerTaskExecutor(), Clock.systemUTC(), Optional::empty);

    JobException e = assertThrows(JobException.class,
        () -> service.create(List.of("shop"), ""));

    String id = (String) e.details().get("id");
    assertEquals("dump " + id + " failed on shop: pg_dump failed (exit code 1) while dumping shop"
        + " of postgres@127.0.0.1:" + source.port() + "/shop: pg_dump: error: Dumping the contents"
        + " of table \"orders\" failed", e.getMessage());
    assertEquals("shop", service.show(id).orElseThrow().failure().object());
    assertEquals(List.of(layout.dumpDir(id) + "failure.json"),
        own.list(layout.dumpRoot()).map(o -> o.key()).toList());
    assertEquals(DumpStatus.State.FAILED, service.list().get(0).state());
  }

  @Test
  void cliRestoreReadsStorageItselfAndPrintsWhatItDid() throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new DumpCommand(() -> null, config -> new DumpRestorer(
        azureStorage(), pipeline, layout, new PgTool(target.binDir())), Duration.ZERO));
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));

    int code = cl.execute("restore", manifest.id(), "--db", "crm", "--target",
        "postgresql://postgres@127.0.0.1:" + target.port() + "/postgres", "--as", "crm_cli");

    assertEquals(0, code, err.toString());
    assertEquals("restored database crm of dump " + manifest.id() + " into crm_cli ("
        + DumpCommand.size(manifest.database("crm").orElseThrow().rawSize())
        + " of archive, checksum verified)\n", out.toString());
    assertEquals(checksum(source, "crm", "people.contacts"),
        checksum(target, "crm_cli", "people.contacts"));
  }

  /**
   * A copy of the dump under {@code id} holding one database: {@code globals} as its script (when
   * given), the database's archive as stored, or damaged by {@code damageCrm} (when given).
   */
  static String copyOfDump(String id, String globals, String database,
      java.util.function.UnaryOperator<byte[]> damageCrm) throws Exception {
    DumpManifest.Entry crm = manifest.database(database).orElseThrow();
    DumpManifest.Entry crmCopy = crm;
    if (damageCrm != null) {
      byte[] stored;
      try (var in = storage.open(crm.key()).orElseThrow()) {
        stored = in.readAllBytes();
      }
      String key = layout.dumpDatabase(id, database, pipeline.suffix());
      byte[] damaged = damageCrm.apply(stored);
      storage.create(key, new java.io.ByteArrayInputStream(damaged),
          () -> {
            try {
              return storage.stat(crm.key()).orElseThrow().metadata();
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          });
      crmCopy = new DumpManifest.Entry(database, key, crm.rawSize(), damaged.length, crm.plainSha256(),
          crm.codec(), crm.keyFingerprint());
    }
    DumpManifest.Entry script = null;
    if (globals != null) {
      byte[] plain = globals.getBytes(StandardCharsets.UTF_8);
      java.io.ByteArrayOutputStream encoded = new java.io.ByteArrayOutputStream();
      try (var enc = pipeline.encode(encoded)) {
        enc.write(plain);
      }
      String key = layout.dumpGlobals(id, pipeline.suffix());
      String sha = java.util.HexFormat.of().formatHex(
          java.security.MessageDigest.getInstance("SHA-256").digest(plain));
      storage.create(key, new java.io.ByteArrayInputStream(encoded.toByteArray()),
          () -> new io.pgsidecar.core.storage.ObjectMetadata(sha, plain.length, pipeline.name(),
              pipeline.keyFingerprint(), Map.of()));
      script = new DumpManifest.Entry("globals", key, plain.length, encoded.size(), sha,
          pipeline.name(), pipeline.keyFingerprint());
    }
    DumpManifest copy = new DumpManifest(DumpManifest.FORMAT, id, "copy", manifest.cluster(),
        manifest.serverVersion(), manifest.startTime(), manifest.stopTime(), script,
        List.of(crmCopy), manifest.agentVersion());
    byte[] json = copy.toJson();
    storage.create(layout.dumpManifest(id), new java.io.ByteArrayInputStream(json),
        () -> new io.pgsidecar.core.storage.ObjectMetadata("", json.length, "", "", Map.of()));
    return id;
  }

  /**
   * A damaged archive (one byte flipped, or cut short, at 60% of its stored bytes) must not
   * half-apply: with --clean the old streaming restore dropped the live table before decoding
   * reached the damage, and with --as it had created the new database.
   */
  @Test
  void aDamagedOrTruncatedArchiveFailsNamingItBeforeTheTargetChanges() throws Exception {
    target.sql("CREATE DATABASE shop_live");
    execute(target, "shop_live", """
        CREATE SCHEMA sales;
        CREATE TABLE sales.orders (id bigint PRIMARY KEY, note text);
        INSERT INTO sales.orders VALUES (1, 'live'), (2, 'live');
        """);
    String live = checksum(target, "shop_live", "sales.orders");
    String databases = target.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");
    int n = 0;
    for (java.util.function.UnaryOperator<byte[]> damage : List.<java.util.function.UnaryOperator<byte[]>>of(
        b -> {
          byte[] d = b.clone();
          d[d.length * 3 / 5] ^= 0x01;
          return d;
        },
        b -> java.util.Arrays.copyOf(b, b.length * 3 / 5))) {
      String id = copyOfDump("20261204T00000" + n++ + "Z", null, "shop", damage);
      String key = layout.dumpDatabase(id, "shop", pipeline.suffix());
      // --no-owner: the target may lack the dump's roles; the restore must stop for the damage
      for (RestoreOptions options : List.of(new RestoreOptions(Optional.of("shop_live"), false,
          false, true, false, false, true, List.of(), 1, Optional.empty(), null),
          new RestoreOptions(Optional.of("shop_new"), false, false, false, false, false, true,
              List.of(), 1, Optional.empty(), null))) {
        IOException e = assertThrows(IOException.class,
            () -> restorer(pipeline).restore(id, "shop", targetConnection(), options));
        assertTrue(e.getMessage().startsWith("object " + key + " is damaged: "), e.getMessage());
        assertEquals(live, checksum(target, "shop_live", "sales.orders"));
        assertEquals(databases,
            target.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"));
      }
    }
  }

  @Test
  void aGlobalsScriptWithPsqlMetaCommandsIsRefusedAndNothingRuns(@TempDir Path temp) throws Exception {
    String roles = target.sql("SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles");
    String databases = target.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");
    Path first = temp.resolve("first");
    Path mid = temp.resolve("midline");
    String atLineStart = copyOfDump("20261204T000010Z", "SET standard_conforming_strings = on;\n"
        + "CREATE ROLE meta_one;\n\\! touch " + first + "\nCREATE ROLE meta_two;\n", "crm", null);
    String midLine = copyOfDump("20261204T000011Z", "CREATE ROLE meta_one;\n"
        + "COMMENT ON ROLE meta_one IS 'it''s \\ fine'; \\! touch " + mid + "\n", "crm", null);

    JobException e = assertThrows(JobException.class, () -> restorer(pipeline).restore(atLineStart,
        "crm", targetConnection(), RestoreOptions.defaults().withAs("crm_meta").withGlobals()));
    assertEquals("globals script " + layout.dumpGlobals(atLineStart, pipeline.suffix()) + ": line 3"
        + " holds the psql meta-command '\\! touch " + first + "', which pg_dumpall never writes;"
        + " refusing to run it; nothing was restored. The dump is not what pg_dumpall wrote: pick"
        + " another dump, or restore without --globals", e.getMessage());
    JobException e2 = assertThrows(JobException.class, () -> restorer(pipeline).restore(midLine,
        "crm", targetConnection(), RestoreOptions.defaults().withAs("crm_meta").withGlobals()));
    assertTrue(e2.getMessage().startsWith("globals script " + layout.dumpGlobals(midLine,
        pipeline.suffix()) + ": line 2 holds the psql meta-command '\\! touch " + mid + "'"),
        e2.getMessage());

    assertFalse(Files.exists(first), "psql ran \\!");
    assertFalse(Files.exists(mid), "psql ran \\! in the middle of a line");
    assertEquals(roles, target.sql("SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles"));
    assertEquals(databases,
        target.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"));
  }

  // ---- helpers -------------------------------------------------------------------------------

  static void execute(PostgresCluster cluster, String database, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(cluster.jdbcUrl(database));
        Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  static String query(PostgresCluster cluster, String database, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(cluster.jdbcUrl(database));
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  /** md5 over every row in a stable order, plus the row count, for one table. */
  static String checksum(PostgresCluster cluster, String database, String table) throws SQLException {
    return query(cluster, database, "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ','"
        + " ORDER BY t::text), '')) FROM " + table + " t");
  }
}
