package io.pgsidecar.core.storage;

import java.util.Optional;

/** The contract on the in-memory double other modules' unit tests rely on. */
class MemoryStorageContractTest extends StorageContractTest {

  @Override
  protected Storage newStorage() {
    return new MemoryStorage();
  }

  @Override
  protected Optional<Storage> storageAtMissingLocation() {
    return Optional.empty();
  }

  @Override
  protected String missingLocationMessage() {
    return "";
  }
}
