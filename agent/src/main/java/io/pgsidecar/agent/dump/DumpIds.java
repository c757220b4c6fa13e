package io.pgsidecar.agent.dump;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.BackupIds;

/**
 * Dump ids have the base backups' format and ordering ({@link BackupIds}: {@code
 * 20261122T021500Z}, then {@code -1}, {@code -2}... when that second is taken); only the wording
 * of the error differs, so that a user typing a wrong id is pointed at the dump list.
 */
final class DumpIds {

  private DumpIds() {}

  /** Rejects ids that could escape the dumps/ folder (ids arrive in URLs and on command lines). */
  static String require(String id) {
    if (!BackupIds.isValid(id)) {
      throw JobException.invalidInput("'" + id + "' is not a dump id (expected like"
          + " 20261122T021500Z or 20261122T021500Z-1; see 'pgsidecar dump list')");
    }
    return id;
  }
}
