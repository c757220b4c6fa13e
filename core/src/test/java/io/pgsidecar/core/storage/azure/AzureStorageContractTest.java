package io.pgsidecar.core.storage.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageContractTest;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.testkit.Azurite;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract on the Azure driver against a real Azurite, each test in a container of its own,
 * reached with shared-key auth through an endpoint override (as for Azurite or a sovereign
 * cloud); plus the other auth modes Azurite can play.
 */
class AzureStorageContractTest extends StorageContractTest {

  /** Small blocks so that a few MiB already take the staged, parallel path (but see newStorage). */
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

  private PgsidecarConfig.Azure sharedKey(String container, long blockSize) throws Exception {
    Path keyFile = azurite.writeKeyFile(Files.createTempFile(dir, "account", ".key"));
    return new PgsidecarConfig.Azure(AzureAuth.SHARED_KEY, Optional.empty(),
        Optional.of(azurite.endpoint()), Optional.of(azurite.account()), Optional.of(keyFile),
        Optional.empty(), container, blockSize, 4, Optional.empty());
  }

  @Override
  protected Storage newStorage() throws Exception {
    String container = azurite.createContainer("contract" + CONTAINERS.incrementAndGet());
    // The large object goes in the production default block size, to measure what users get.
    boolean large = testInfo.getTestMethod().orElseThrow().getName().startsWith("large");
    return AzureStorage.open(sharedKey(container,
        large ? AzureStorage.DEFAULT_BLOCK_SIZE : BLOCK_SIZE));
  }

  @Override
  protected Optional<Storage> storageAtMissingLocation() throws Exception {
    return Optional.of(AzureStorage.open(sharedKey("nosuchcontainer", BLOCK_SIZE)));
  }

  @Override
  protected String missingLocationMessage() {
    return "container nosuchcontainer does not exist in account devstoreaccount1: create it or fix "
        + "storage.azure.container";
  }

  @Test
  void describeNamesAccountAndContainerOnly() throws Exception {
    try (var s = AzureStorage.open(sharedKey("somecontainer", BLOCK_SIZE))) {
      assertEquals("azure://devstoreaccount1/somecontainer", s.describe());
    }
  }

  @Test
  void connectionStringAuthCreatesAndReads() throws Exception {
    String container = azurite.createContainer("connstr" + CONTAINERS.incrementAndGet());
    var cfg = new PgsidecarConfig.Azure(AzureAuth.CONNECTION_STRING,
        Optional.of(azurite.connectionString()), Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), container, BLOCK_SIZE, 2, Optional.empty());
    try (var s = AzureStorage.open(cfg)) {
      s.probe();
      s.create("k/one", bytes("via connection string"), () -> meta("01"));
      assertEquals("via connection string", read(s, "k/one"));
    }
  }

  @Test
  void sasAuthCreatesAndReads() throws Exception {
    String container = azurite.createContainer("sas" + CONTAINERS.incrementAndGet());
    Path tokenFile = Files.writeString(dir.resolve("sas"), azurite.sasToken(container) + "\n");
    var cfg = new PgsidecarConfig.Azure(AzureAuth.SAS, Optional.empty(),
        Optional.of(azurite.endpoint()), Optional.empty(), Optional.empty(),
        Optional.of(tokenFile), container, BLOCK_SIZE, 2, Optional.empty());
    try (var s = AzureStorage.open(cfg)) {
      s.probe();
      s.create("k/one", bytes("via sas"), () -> meta("01"));
      assertEquals("via sas", read(s, "k/one"));
      assertEquals(meta("01"), s.stat("k/one").orElseThrow().metadata());
    }
  }

  @Test
  void wrongAccountKeyIsReportedWithTheAuthModeToCheck() throws Exception {
    String container = azurite.createContainer("badkey" + CONTAINERS.incrementAndGet());
    Path keyFile = Files.writeString(dir.resolve("bad.key"),
        java.util.Base64.getEncoder().encodeToString(new byte[64]));
    var cfg = new PgsidecarConfig.Azure(AzureAuth.SHARED_KEY, Optional.empty(),
        Optional.of(azurite.endpoint()), Optional.of(azurite.account()), Optional.of(keyFile),
        Optional.empty(), container, BLOCK_SIZE, 2, Optional.empty());
    try (var s = AzureStorage.open(cfg)) {
      var e = assertThrows(StorageException.class, s::probe);
      assertTrue(e.getMessage().startsWith("probe in azure://devstoreaccount1/" + container
          + " was refused (403 "), e.getMessage());
      assertTrue(e.getMessage().endsWith("with auth SHARED_KEY: check storage.azure.account and "
          + "the key in storage.azure.keyFile"), e.getMessage());
    }
  }

  @Test
  void outageIsAnErrorNamingTheStoreAndServiceResumesAfterIt() throws Exception {
    String container = azurite.createContainer("outage" + CONTAINERS.incrementAndGet());
    var cfg = new PgsidecarConfig.StorageConfig(PgsidecarConfig.StorageType.AZURE, "",
        Optional.empty(), sharedKey(container, BLOCK_SIZE), Duration.ofSeconds(5), 0);
    try (var s = AzureStorage.open(cfg)) {
      s.create("before", bytes("kept"), () -> meta("01"));
      azurite.stop();
      try {
        var e = assertThrows(StorageException.class, () -> s.stat("before"));
        assertTrue(e.getMessage().startsWith("stat of before in azure://devstoreaccount1/"
            + container + " failed: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; check the network path to the storage endpoint"),
            e.getMessage());
      } finally {
        azurite.start();
      }
      assertEquals("kept", read(s, "before"));
    }
  }

  @Test
  void missingKeyFileIsNamed() {
    var cfg = new PgsidecarConfig.Azure(AzureAuth.SHARED_KEY, Optional.empty(),
        Optional.of(azurite.endpoint()), Optional.of(azurite.account()),
        Optional.of(dir.resolve("absent.key")), Optional.empty(), "x1x", BLOCK_SIZE, 2,
        Optional.empty());
    var e = assertThrows(StorageException.class, () -> AzureStorage.open(cfg));
    assertTrue(e.getMessage().startsWith("cannot read storage.azure.keyFile "
        + dir.resolve("absent.key")), e.getMessage());
  }

  @Test
  void metadataNamesAreStoredAsAzureIdentifiersAndReadBackDashed() throws Exception {
    storage.create("m/one", bytes("x"), () -> meta("abc"));
    String container = ((AzureStorage) storage).describe().substring("azure://devstoreaccount1/".length());
    Map<String, String> raw = azurite.containerClient(container).getBlobClient("m/one")
        .getProperties().getMetadata();
    assertEquals("abc", raw.get("plain_sha256"));
    assertEquals("db-0", raw.get("source_host"));
    assertEquals(meta("abc"), storage.stat("m/one").orElseThrow().metadata());
  }
}
