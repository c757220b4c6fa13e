package io.pgsidecar.core.storage;

import java.io.IOException;

/** A storage operation failed; the message names the operation, the object and what to check. */
public class StorageException extends IOException {
  public StorageException(String message) {
    super(message);
  }

  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
