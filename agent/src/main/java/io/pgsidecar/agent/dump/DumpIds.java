package io.pgsidecar.agent.dump;

import io.pgsidecar.core.repo.BackupIds;
import java.io.IOException;
import java.time.Instant;
import java.util.Comparator;

/**
 * Dump ids have the base backups' format ({@link BackupIds}: {@code 20261122T021500Z}, then
 * {@code -1}, {@code -2}... when that second is taken); only the wording of errors differs.
 */
final class DumpIds {

  static final Comparator<String> ORDER = BackupIds.ORDER;

  private DumpIds() {}

  static String next(Instant now, BackupIds.Taken taken) throws IOException {
    return BackupIds.next(now, taken);
  }

  static boolean isValid(String id) {
    return BackupIds.isValid(id);
  }

  /** Rejects ids that could escape the dumps/ folder (ids arrive in URLs and on command lines). */
  static String require(String id) {
    if (!isValid(id)) {
      throw new IllegalArgumentException("'" + id + "' is not a dump id (expected like"
          + " 20261122T021500Z or 20261122T021500Z-1; see 'pgsidecar dump list')");
    }
    return id;
  }
}
