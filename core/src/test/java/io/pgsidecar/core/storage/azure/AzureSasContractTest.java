package io.pgsidecar.core.storage.azure;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageContractTest;
import io.pgsidecar.testkit.Azurite;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole storage contract with {@code auth: sas}: a container SAS (read, add, create, write,
 * delete, list, the permissions the agent needs) in {@code storage.azure.sas-token-file}, against
 * Azurite. No account key reaches the driver.
 */
class AzureSasContractTest extends StorageContractTest {

  private static final long BLOCK_SIZE = 1024 * 1024;
  private static final AtomicInteger CONTAINERS = new AtomicInteger();

  private static Azurite azurite;

  @TempDir
  Path dir;

  @BeforeAll
  static void startAzurite() throws Exception {
    azurite = Azurite.launch();
  }

  @AfterAll
  static void stopAzurite() {
    if (azurite != null) {
      azurite.close();
    }
  }

  /** The driver for {@code container} with a SAS for that container only, in a token file. */
  private PgsidecarConfig.Azure sas(String container, long blockSize) throws Exception {
    Path tokenFile = Files.writeString(Files.createTempFile(dir, "sas", ".token"),
        azurite.sasToken(container) + "\n");
    return new PgsidecarConfig.Azure(AzureAuth.SAS, Optional.empty(),
        Optional.of(azurite.endpoint()), Optional.empty(), Optional.empty(),
        Optional.of(tokenFile), container, blockSize, 4, Optional.empty());
  }

  @Override
  protected Storage newStorage() throws Exception {
    String container = azurite.createContainer("sas" + CONTAINERS.incrementAndGet());
    boolean large = testInfo.getTestMethod().orElseThrow().getName().startsWith("large");
    return AzureStorage.open(sas(container, large ? AzureStorage.DEFAULT_BLOCK_SIZE : BLOCK_SIZE));
  }

  @Override
  protected Optional<Storage> storageAtMissingLocation() throws Exception {
    return Optional.of(AzureStorage.open(sas("nosuchcontainer", BLOCK_SIZE)));
  }

  @Override
  protected String missingLocationMessage() {
    return "container nosuchcontainer does not exist in account devstoreaccount1: create it or fix "
        + "storage.azure.container";
  }
}
