package io.pgsidecar.e2e;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.testkit.Azurite;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The repository as production runs it: Azure Blob Storage (Azurite) with every object zstd
 * compressed and OpenPGP encrypted to a passphrase. One Azurite per test class, one container
 * per test.
 */
final class EncryptedAzure implements AutoCloseable {

  private static final AtomicInteger CONTAINERS = new AtomicInteger();

  private final Azurite azurite;

  private EncryptedAzure(Azurite azurite) {
    this.azurite = azurite;
  }

  static EncryptedAzure launch() throws IOException {
    return new EncryptedAzure(Azurite.launch());
  }

  Storage newContainer(Path dir) throws IOException {
    String container = azurite.createContainer("e2e" + CONTAINERS.incrementAndGet());
    Path keyFile = azurite.writeKeyFile(Files.createTempFile(dir, "account", ".key"));
    return AzureStorage.open(new PgsidecarConfig.Azure(AzureAuth.SHARED_KEY, Optional.empty(),
        Optional.of(azurite.endpoint()), Optional.of(azurite.account()), Optional.of(keyFile),
        Optional.empty(), container, 4L << 20, 4, Optional.empty()));
  }

  static CodecPipeline pipeline(Path dir) throws IOException {
    Path pass = Files.writeString(dir.resolve("passphrase"), "drill passphrase, not a secret\n");
    return Pipelines.forConfig(new PgsidecarConfig.Compression("zstd", 1, 0),
        new PgsidecarConfig.Encryption(List.of(), Optional.of(pass), List.of(), Optional.empty()));
  }

  @Override
  public void close() {
    azurite.close();
  }
}
