package io.pgsidecar.core.storage;

/** {@link Storage#create} found an object under the key; nothing was changed. */
public class ObjectExistsException extends StorageException {
  private final String key;

  public ObjectExistsException(String key) {
    super("object " + key + " already exists; objects are never overwritten");
    this.key = key;
  }

  protected ObjectExistsException(String key, String message) {
    super(message);
    this.key = key;
  }

  public String key() {
    return key;
  }
}
