package io.pgsidecar.core.storage;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.core.storage.fs.FsStorage;

/**
 * Opens the storage a configuration names ({@code storage.type}): one place, so the agent, the
 * CLI and restore-init reach the repository the same way.
 */
public final class StorageFactory {

  private StorageFactory() {}

  public static Storage open(PgsidecarConfig.StorageConfig config) throws StorageException {
    return switch (config.type()) {
      case FS -> new FsStorage(config.path().orElseThrow(() -> new StorageException(
          "storage.type is fs but storage.path is not set: set it to the repository's directory")));
      case AZURE -> AzureStorage.open(config);
    };
  }
}
