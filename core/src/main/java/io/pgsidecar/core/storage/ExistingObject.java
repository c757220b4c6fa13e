package io.pgsidecar.core.storage;

import java.io.IOException;
import java.util.Optional;

/**
 * What a create does when it finds its key taken. The usual cause is the create itself: Azure
 * committed the block list but the reply was lost, and the retry of the commit (or of the whole
 * create) met the object it had just written. Every writer (WAL push, base backup data and
 * backup.json, dump objects and dump.json, cluster.json, history files) therefore treats
 * "exists with my own content" as success, judged by the SHA-256 and size of the plain content
 * recorded in the metadata, and "exists with other content" as a loud
 * {@link ObjectConflictException}. Done once here, by every driver, so no writer can forget it.
 */
public final class ExistingObject {

  private ExistingObject() {}

  /**
   * The stored object when it is {@code attempted}'s content, else the conflict.
   *
   * @param attempted the metadata of the create that was refused; null when the create was
   *     refused before its content was read (nothing to compare: {@code refusal} is rethrown)
   */
  public static ObjectInfo ownOrConflict(Storage storage, String key, ObjectMetadata attempted,
      ObjectExistsException refusal) throws IOException {
    if (attempted == null || attempted.plainSha256().isEmpty()) {
      throw refusal;
    }
    Optional<ObjectInfo> stored = storage.stat(key);
    if (stored.isEmpty()) {
      throw new StorageException("create of " + key + " was refused because the key exists, but"
          + " no object is there now: something deletes objects of this repository; retry, and"
          + " check lifecycle rules of the storage, deletions by hand and other agents on this path", refusal);
    }
    ObjectMetadata there = stored.get().metadata();
    if (there.plainSha256().equalsIgnoreCase(attempted.plainSha256())
        && there.plainSize() == attempted.plainSize()) {
      return stored.get();
    }
    throw new ObjectConflictException(key, there, attempted);
  }
}
