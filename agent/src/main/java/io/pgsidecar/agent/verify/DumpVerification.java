package io.pgsidecar.agent.verify;

import java.util.List;
import java.util.Map;

/**
 * What {@code pgsidecar dump verify} checked (it throws when something is wrong).
 *
 * @param objects one entry per stored object: its key, sizes, checks and, for a database
 *     archive, how many entries {@code pg_restore --list} read from its table of contents
 * @param restored whether the databases were restored into a scratch server ({@code --restore})
 * @param tables per restored database, how many user tables it holds after the restore
 */
public record DumpVerification(String dumpId, List<DumpObject> objects, boolean restored,
    Map<String, Long> tables, Map<String, Long> stepsMillis, long durationMillis) {

  /** One object of the dump. */
  public record DumpObject(String name, String key, long storedSize, long plainSize,
      String plainSha256, List<String> checks, int tocEntries) {}
}
