package io.pgsidecar.agent.backup;

import io.pgsidecar.agent.support.Await;
import static io.pgsidecar.agent.backup.BackupFixtures.LAYOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Base backups of pgbench -s 10 into Azurite through the Azure driver, and Azurite going down. */
class BackupToAzuriteTest {

  static final Path ARCHIVE = BackupFixtures.archiveDir();
  static final AtomicInteger CONTAINERS = new AtomicInteger();

  @RegisterExtension
  static final PostgresCluster PG = BackupFixtures.archivingCluster(ARCHIVE).build();

  static Azurite azurite;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() throws Exception {
    PG.pgbench("-i", "-s", "10", "-q");
    azurite = Azurite.launch();
  }

  @AfterAll
  static void stop() {
    if (azurite != null) {
      azurite.close();
    }
  }

  /** Each try bounded by 5 s, one retry: an outage fails the backup quickly. */
  private static Storage storage() throws Exception {
    String container = azurite.createContainer("backup" + CONTAINERS.incrementAndGet());
    var azure = new PgsidecarConfig.Azure(PgsidecarConfig.AzureAuth.CONNECTION_STRING,
        Optional.of(azurite.connectionString()), Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), container, AzureStorage.DEFAULT_BLOCK_SIZE,
        AzureStorage.DEFAULT_CONCURRENCY, Optional.empty());
    return AzureStorage.open(new PgsidecarConfig.StorageConfig(PgsidecarConfig.StorageType.AZURE,
        "test", Optional.empty(), azure, Duration.ofSeconds(5), 1));
  }

  @Test
  void backupToAzuritePassesPgVerifybackup() throws Exception {
    CodecPipeline pipeline = Pipelines.zstd(3);
    Storage storage = storage();
    try (var shipper = new WalShipper(ARCHIVE, storage, LAYOUT, pipeline);
        var service = BackupFixtures.service(PG, storage, pipeline, Duration.ofSeconds(60))) {
      BackupManifest m = service.create("azure");
      assertEquals(PG.sql("SELECT system_identifier FROM pg_control_system()"),
          m.systemIdentifier());
      assertEquals(BackupFixtures.backupHistory(ARCHIVE, m.id()).get("stop"), m.stopLsn());
      assertEquals(m.storedSize(), storage.stat(m.dataKey()).orElseThrow().storedSize());
      try (InputStream in = storage.open(m.dataKey()).orElseThrow()) {
        assertEquals(m.storedSha256(), BackupFixtures.sha256(in));
      }
      assertEquals(List.of(m), service.list());
      String verify = BackupFixtures.verifyWithPgVerifybackup(PG, storage, pipeline, m,
          tmp.resolve("verify"));
      assertTrue(verify.contains("backup successfully verified"), verify);
    }
  }

  @Test
  void azuriteDownMidBackupLeavesNothingListedAndTheNextBackupWorks() throws Exception {
    CodecPipeline pipeline = Pipelines.zstd(1);
    Storage storage = storage();
    try (var shipper = new WalShipper(ARCHIVE, storage, LAYOUT, pipeline);
        var service = BackupFixtures.service(PG, storage, pipeline, Duration.ofSeconds(60))) {
      RunningBackup b = service.start("outage");
      Await.until("the backup read 30 MB", Duration.ofSeconds(120),
          () -> b.progress().rawBytes() >= 30_000_000 || b.result().isDone());
      azurite.stop();
      try {
        var e = assertThrows(ExecutionException.class, () -> b.result().get());
        assertTrue(e.getCause().getMessage().startsWith("storing base backup data "
            + LAYOUT.baseData(b.id(), ".zst") + " failed: "), e.getCause().getMessage());
      } finally {
        azurite.start();
      }
      assertEquals(List.of(), service.list());
      assertEquals(List.of(), storage.list(LAYOUT.baseRoot()).toList(), "no blob committed");
      BackupManifest next = service.create("after outage");
      assertEquals(List.of(next), service.list());
    }
  }
}
