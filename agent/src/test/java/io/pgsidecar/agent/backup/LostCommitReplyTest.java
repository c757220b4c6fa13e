package io.pgsidecar.agent.backup;

import static io.pgsidecar.agent.backup.BackupFixtures.LAYOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.dump.DumpRestorer;
import io.pgsidecar.agent.dump.DumpService;
import io.pgsidecar.agent.dump.RestoreOptions;
import io.pgsidecar.agent.postgres.PgConnection;
import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.FaultProxy;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Azure commits an object but the reply is lost (the {@link FaultProxy} forwards the commit to
 * Azurite, then resets the connection): the retry meets the object it has just written. Before,
 * the backup and the dump were reported failed although complete (the dump even listed); now
 * the retry recognises its own content (SHA-256 and size in the metadata) and both succeed, and
 * what they stored restores byte for byte.
 */
class LostCommitReplyTest {

  static final Path ARCHIVE = BackupFixtures.archiveDir();
  /** Small blocks, so that data.tar and the database dump are committed as block lists. */
  static final int BLOCK = 64 * 1024;

  @RegisterExtension
  static final PostgresCluster PG = BackupFixtures.archivingCluster(ARCHIVE).build();

  static Azurite azurite;
  static FaultProxy proxy;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() throws Exception {
    PG.pgbench("-i", "-s", "2", "-q");
    azurite = Azurite.launch();
    proxy = FaultProxy.to(azurite.port());
  }

  @AfterAll
  static void stop() {
    if (proxy != null) {
      proxy.close();
    }
    if (azurite != null) {
      azurite.close();
    }
  }

  /** The configured driver (one try per request, our retries), through the proxy. */
  static Storage throughProxy() throws Exception {
    String connection = "DefaultEndpointsProtocol=http;AccountName=" + Azurite.ACCOUNT
        + ";AccountKey=" + Azurite.KEY + ";BlobEndpoint=" + proxy.endpoint(Azurite.ACCOUNT) + ";";
    var azure = new PgsidecarConfig.Azure(PgsidecarConfig.AzureAuth.CONNECTION_STRING,
        Optional.of(connection), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), azurite.container(), BLOCK, 2, Optional.empty());
    return AzureStorage.open(new PgsidecarConfig.StorageConfig(PgsidecarConfig.StorageType.AZURE,
        "test", Optional.empty(), azure, Duration.ofSeconds(30), 5));
  }

  static Predicate<FaultProxy.Request> commitOf(String part) {
    return r -> r.method().equals("PUT") && r.decodedTarget().contains(part)
        && r.decodedTarget().contains("comp=blocklist");
  }

  static Predicate<FaultProxy.Request> singlePutOf(String part) {
    return r -> r.method().equals("PUT") && r.decodedTarget().contains(part)
        && !r.decodedTarget().contains("comp=");
  }

  @Test
  void backupWhoseDataAndManifestCommitRepliesAreLostSucceedsAndVerifies() throws Exception {
    CodecPipeline pipeline = Pipelines.zstd(1);
    try (Storage storage = throughProxy();
        var shipper = new WalShipper(ARCHIVE, storage, LAYOUT, pipeline);
        var service = BackupFixtures.service(PG, storage, pipeline, Duration.ofSeconds(60))) {
      proxy.clear();
      proxy.dropResponse(commitOf("/data.tar"), 1).dropResponse(singlePutOf("/backup.json"), 1);
      int before = proxy.fired().size();

      BackupManifest m = service.create("lost replies");

      assertEquals(2, proxy.fired().size() - before, "both faults were played: " + proxy.fired());
      assertEquals(List.of(m), service.list());
      try (InputStream in = storage.open(m.dataKey()).orElseThrow()) {
        assertEquals(m.storedSha256(), BackupFixtures.sha256(in));
      }
      try (InputStream in = storage.open(m.dataKey()).orElseThrow();
          InputStream plain = pipeline.decode(in, m.codec(), m.dataKey())) {
        assertEquals(m.plainSha256(), BackupFixtures.sha256(plain));
      }
      String verify = BackupFixtures.verifyWithPgVerifybackup(PG, storage, pipeline, m,
          tmp.resolve("verify"));
      assertTrue(verify.contains("backup successfully verified"), verify);
    }
  }

  @Test
  void dumpWhoseDatabaseAndManifestCommitRepliesAreLostSucceedsAndRestores() throws Exception {
    CodecPipeline pipeline = Pipelines.zstd(1);
    var layout = new io.pgsidecar.core.repo.RepositoryLayout("test", "dumps");
    try (Storage storage = throughProxy()) {
      var service = new DumpService(storage, pipeline, layout, new PgTool(PG.binDir()),
          new PgConnection("127.0.0.1", PG.port(), "postgres", "postgres", Optional.empty(),
              Map.of()),
          new PgsidecarConfig.Dump(List.of(), List.of(), false),
          Executors.newVirtualThreadPerTaskExecutor(), Clock.systemUTC(), Optional::empty);
      proxy.clear();
      proxy.dropResponse(commitOf("/postgres.dump"), 1).dropResponse(singlePutOf("/dump.json"), 1);
      int before = proxy.fired().size();

      DumpManifest m = service.create(List.of("postgres"), "lost replies");

      assertEquals(2, proxy.fired().size() - before, "both faults were played: " + proxy.fired());
      assertEquals(m, service.readManifest(m.id()).orElseThrow());
      DumpManifest.Entry db = m.database("postgres").orElseThrow();
      try (InputStream in = storage.open(db.key()).orElseThrow();
          InputStream plain = pipeline.decode(in, storage.stat(db.key()).orElseThrow()
              .metadata().codec(), db.key())) {
        assertEquals(db.plainSha256(), BackupFixtures.sha256(plain));
      }
      new DumpRestorer(storage, pipeline, layout, new PgTool(PG.binDir())).restore(m.id(),
          "postgres", new PgConnection("127.0.0.1", PG.port(), "postgres", "postgres",
              Optional.empty(), Map.of()),
          RestoreOptions.defaults().withAs("restored"));
      String digest = "SELECT count(*) || ' ' || md5(string_agg(aid || ':' || bid || ':' || abalance,"
          + " ',' ORDER BY aid)) FROM pgbench_accounts";
      String original = PG.sql(digest);
      assertTrue(original.startsWith("200000 "), original);
      try (Connection c = DriverManager.getConnection(PG.jdbcUrl("restored"), "postgres", "");
          Statement st = c.createStatement(); ResultSet rs = st.executeQuery(digest)) {
        assertTrue(rs.next());
        assertEquals(original, rs.getString(1));
      }
    }
  }
}
