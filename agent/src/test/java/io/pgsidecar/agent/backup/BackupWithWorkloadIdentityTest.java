package io.pgsidecar.agent.backup;

import static io.pgsidecar.agent.backup.BackupFixtures.LAYOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.azure.AzurePodEnvironment;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.TokenIssuer;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A base backup of pgbench -s 10 stored with {@code auth: workload-identity} (the webhook's
 * variables, the real azure-identity path, {@link TokenIssuer} over TLS, Azurite in OAuth mode)
 * while the access tokens live 2 s, so they expire and are renewed during the upload; then read
 * back through the same identity and checked by pg_verifybackup.
 */
class BackupWithWorkloadIdentityTest {

  static final Path ARCHIVE = BackupFixtures.archiveDir();

  @RegisterExtension
  static final PostgresCluster PG = BackupFixtures.archivingCluster(ARCHIVE).build();

  static TokenIssuer issuer;
  static Azurite azurite;
  static Path tokenFile;

  @TempDir Path tmp;

  @BeforeAll
  static void start() throws Exception {
    PG.pgbench("-i", "-s", "10", "-q");
    issuer = TokenIssuer.start();
    azurite = Azurite.launchOAuth();
    tokenFile = Files.createTempFile("azure-identity-token", "");
    Files.writeString(tokenFile, issuer.federatedToken());
    AzurePodEnvironment.set(Map.of(
        "AZURE_FEDERATED_TOKEN_FILE", tokenFile.toString(),
        "AZURE_CLIENT_ID", TokenIssuer.CLIENT_ID,
        "AZURE_TENANT_ID", TokenIssuer.TENANT_ID,
        "AZURE_AUTHORITY_HOST", issuer.authorityHost()));
  }

  @AfterAll
  static void stop() throws Exception {
    AzurePodEnvironment.reset();
    if (azurite != null) {
      azurite.close();
    }
    if (issuer != null) {
      issuer.close();
    }
    Files.deleteIfExists(tokenFile);
  }

  @Test
  void backupWithShortLivedTokensIsRenewedMidUploadAndPassesPgVerifybackup() throws Exception {
    String container = azurite.createContainer("wibackup");
    var azure = new PgsidecarConfig.Azure(PgsidecarConfig.AzureAuth.WORKLOAD_IDENTITY,
        Optional.empty(), Optional.of(azurite.endpoint()), Optional.of(azurite.account()),
        Optional.empty(), Optional.empty(), container, 4L << 20, AzureStorage.DEFAULT_CONCURRENCY,
        Optional.empty());
    Storage storage = AzureStorage.open(new PgsidecarConfig.StorageConfig(
        PgsidecarConfig.StorageType.AZURE, "test", Optional.empty(), azure,
        Duration.ofSeconds(20), 1));
    issuer.tokenLifetime(Duration.ofSeconds(2));
    CodecPipeline pipeline = Pipelines.zstd(3);
    try (storage;
        var shipper = new WalShipper(ARCHIVE, storage, LAYOUT, pipeline);
        var service = BackupFixtures.service(PG, storage, pipeline, Duration.ofSeconds(120))) {
      int before = issuer.issued().size();
      Instant started = Instant.now();
      BackupManifest m = service.create("workload identity");
      Duration took = Duration.between(started, Instant.now());
      List<Instant> issued = issuer.issued().subList(before, issuer.issued().size());
      System.out.println("base backup took " + took + ", stored " + m.storedSize()
          + " bytes; access tokens issued meanwhile: " + issued.size());
      assertEquals(List.of(), issuer.refused());
      assertTrue(issued.size() >= 2,
          "a backup of " + took + " outlived 2 s tokens and renewed them: " + issued);
      try (InputStream in = storage.open(m.dataKey()).orElseThrow()) {
        assertEquals(m.storedSha256(), BackupFixtures.sha256(in));
      }
      assertEquals(List.of(m), service.list());
      String verify = BackupFixtures.verifyWithPgVerifybackup(PG, storage, pipeline, m,
          tmp.resolve("verify"));
      assertTrue(verify.contains("backup successfully verified"), verify);
    } finally {
      issuer.tokenLifetime(Duration.ofHours(1));
    }
  }
}
