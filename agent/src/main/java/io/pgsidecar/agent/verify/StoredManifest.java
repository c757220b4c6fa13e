package io.pgsidecar.agent.verify;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Optional;

/**
 * What backup and dump verification share around the read-back itself (which is
 * {@link io.pgsidecar.core.verify.StoredObjects}): reading the manifest of one backup or dump by
 * id, and turning what went wrong into the one {@link JobException} the caller reports.
 *
 * @param kind {@code backup} or {@code dump}: names the object in messages and the CLI command
 *     that lists them ({@code pgsidecar <kind> list})
 * @param id the backup or dump id
 */
record StoredManifest(String kind, String id) {

  /** Parses a manifest's bytes; {@code key} names the object in its errors. */
  interface Parser<T> {
    T parse(byte[] json, String key) throws IOException;
  }

  /** Refuses an id that is not one (before anything is read). */
  StoredManifest {
    if (!BackupIds.isValid(id)) {
      throw JobException.invalidInput("'" + id + "' is not a " + kind + " id (e.g."
          + " 20261122T021500Z); list them with pgsidecar " + kind + " list");
    }
  }

  /**
   * Reads and parses the manifest at {@code key}.
   *
   * @param where the repository as messages name it
   * @throws JobException NOT_FOUND when there is no such object, STORAGE_UNAVAILABLE when it
   *     cannot be read, VERIFICATION_FAILED when it does not parse
   */
  <T> T read(Storage storage, String key, String where, Parser<T> parser) {
    try {
      Optional<InputStream> in = storage.open(key);
      if (in.isEmpty()) {
        throw new JobException(JobException.Kind.NOT_FOUND, kind + " " + id + " does not exist in "
            + where + " (no " + key + "); list the " + kind + "s with pgsidecar " + kind + " list",
            Map.of(kind, id), null);
      }
      try (InputStream s = in.get()) {
        return parser.parse(s.readAllBytes(), key);
      }
    } catch (StorageException e) {
      throw new JobException(JobException.Kind.STORAGE_UNAVAILABLE, "cannot read " + key + ": "
          + e.getMessage() + "; check the storage and run the verification again", e);
    } catch (IOException e) {
      throw JobException.verificationFailed(kind + " " + id + ": " + e.getMessage());
    }
  }

  /**
   * What a verification step's failure {@code e} becomes: a {@link JobException} as it is, the
   * storage unavailable, anything else a verification that could not run.
   */
  JobException failure(Exception e) {
    if (e instanceof JobException j) {
      return j;
    }
    if (e instanceof StorageException) {
      return new JobException(JobException.Kind.STORAGE_UNAVAILABLE, kind + " " + id + ": "
          + e.getMessage() + "; check the storage and run the verification again", e);
    }
    return new JobException(JobException.Kind.FAILED, kind + " " + id + ": verification could"
        + " not run: " + e.getMessage(), e);
  }
}
