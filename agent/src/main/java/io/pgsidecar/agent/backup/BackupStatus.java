package io.pgsidecar.agent.backup;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The backup part of {@code /v1/status}: the running backup, if any, the last result since the
 * agent started, and when the schedule starts the next one.
 */
public record BackupStatus(Optional<RunningBackup.Progress> running, Optional<BackupResult> last,
    Optional<Instant> nextScheduledRun) {

  /** Plain JSON-ready map (strings, numbers, nested maps) for the status document. */
  public Map<String, Object> toMap() {
    var m = new LinkedHashMap<String, Object>();
    m.put("running", running.map(RunningBackup.Progress::toMap).orElse(null));
    m.put("last", last.map(BackupResult::toMap).orElse(null));
    m.put("nextScheduledRun", nextScheduledRun.map(Instant::toString).orElse(null));
    return m;
  }
}
