package io.pgsidecar.core.storage.azure;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageContractTest;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.TokenIssuer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole storage contract with {@code auth: workload-identity} as AKS sets it up: the
 * webhook's four variables, a projected token file, the real azure-identity/MSAL code path
 * exchanging it at a token endpoint over TLS ({@link TokenIssuer}) for an access token that
 * Azurite in {@code --oauth basic} mode (HTTPS) accepts. No account key reaches the driver.
 */
class AzureWorkloadIdentityContractTest extends StorageContractTest {

  private static final long BLOCK_SIZE = 1024 * 1024;
  private static final AtomicInteger CONTAINERS = new AtomicInteger();

  static TokenIssuer issuer;
  static Azurite azurite;
  static Path tokenFile;

  @BeforeAll
  static void start() throws Exception {
    issuer = TokenIssuer.start();
    azurite = Azurite.launchOAuth();
    tokenFile = Files.createTempFile("azure-identity-token", "");
    Files.writeString(tokenFile, issuer.federatedToken());
    AzureClients.environment = Map.of(
        "AZURE_FEDERATED_TOKEN_FILE", tokenFile.toString(),
        "AZURE_CLIENT_ID", TokenIssuer.CLIENT_ID,
        "AZURE_TENANT_ID", TokenIssuer.TENANT_ID,
        "AZURE_AUTHORITY_HOST", issuer.authorityHost())::get;
  }

  @AfterAll
  static void stop() throws Exception {
    AzureClients.environment = System::getenv;
    if (azurite != null) {
      azurite.close();
    }
    if (issuer != null) {
      issuer.close();
    }
    Files.deleteIfExists(tokenFile);
  }

  static PgsidecarConfig.Azure workloadIdentity(Azurite azurite, String container, long blockSize) {
    return new PgsidecarConfig.Azure(AzureAuth.WORKLOAD_IDENTITY, Optional.empty(),
        Optional.of(azurite.endpoint()), Optional.of(azurite.account()), Optional.empty(),
        Optional.empty(), container, blockSize, 4, Optional.empty());
  }

  @Override
  protected Storage newStorage() throws Exception {
    String container = azurite.createContainer("wi" + CONTAINERS.incrementAndGet());
    boolean large = testInfo.getTestMethod().orElseThrow().getName().startsWith("large");
    return AzureStorage.open(workloadIdentity(azurite, container,
        large ? AzureStorage.DEFAULT_BLOCK_SIZE : BLOCK_SIZE));
  }

  @Override
  protected Optional<Storage> storageAtMissingLocation() throws Exception {
    return Optional.of(AzureStorage.open(workloadIdentity(azurite, "nosuchcontainer", BLOCK_SIZE)));
  }

  @Override
  protected String missingLocationMessage() {
    return "container nosuchcontainer does not exist in account devstoreaccount1: create it or fix "
        + "storage.azure.container";
  }

  @Test
  void theDriverAuthenticatedWithIssuedTokensOnly() throws Exception {
    storage.create("k/one", bytes("via workload identity"), () -> meta("01"));
    assertTrue(!issuer.issued().isEmpty(), "an access token was issued");
    assertTrue(issuer.refused().isEmpty(), "refused: " + issuer.refused());
  }
}
