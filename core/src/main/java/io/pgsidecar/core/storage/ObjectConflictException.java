package io.pgsidecar.core.storage;

/**
 * {@link Storage#create} found its key holding other content than the one it was asked to store
 * (another SHA-256 or size of the plain content). Nothing was changed. A subclass of
 * {@link ObjectExistsException}, so callers that handle "exists" keep working.
 */
public final class ObjectConflictException extends ObjectExistsException {

  public ObjectConflictException(String key, ObjectMetadata stored, ObjectMetadata attempted) {
    super(key, "object " + key + " already exists with other content (stored: SHA-256 "
        + shown(stored.plainSha256()) + ", " + stored.plainSize() + " bytes; this write: SHA-256 "
        + shown(attempted.plainSha256()) + ", " + attempted.plainSize() + " bytes); nothing was"
        + " overwritten: find out which writer stored it (two agents on one path?) before"
        + " removing either");
  }

  private static String shown(String sha) {
    return sha.isEmpty() ? "(none recorded)" : sha;
  }
}
