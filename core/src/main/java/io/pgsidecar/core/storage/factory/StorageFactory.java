package io.pgsidecar.core.storage.factory;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.s3.S3Storage;

/**
 * Opens the storage a configuration names ({@code storage.type}): one place, so the agent, the
 * CLI and restore-init reach the repository the same way.
 */
public final class StorageFactory {

  private StorageFactory() {}

  public static Storage open(PgsidecarConfig.StorageConfig config) throws StorageException {
    return open(config, RetryPolicy.GiveUps.NONE);
  }

  /**
   * As {@link #open(PgsidecarConfig.StorageConfig)}, with every give-up of a retried request
   * also reported to {@code giveUps} (the agent counts them). The filesystem driver does not
   * retry: its failures (a missing mount, permissions, a full disk) do not heal in seconds.
   */
  public static Storage open(PgsidecarConfig.StorageConfig config, RetryPolicy.GiveUps giveUps)
      throws StorageException {
    return switch (config.type()) {
      case FS -> new FsStorage(config.path().orElseThrow(() -> new StorageException(
          "storage.type is fs but storage.path is not set: set it to the repository's directory")));
      case AZURE -> AzureStorage.open(config, giveUps);
      case S3 -> S3Storage.open(config, giveUps);
    };
  }
}
