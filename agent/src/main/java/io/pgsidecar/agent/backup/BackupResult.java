package io.pgsidecar.agent.backup;

import io.pgsidecar.core.repo.BackupManifest;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * How one base backup ended, for {@code /v1/status}, metrics and the CLI.
 *
 * @param manifest present on success
 * @param error what went wrong, empty on success
 */
public record BackupResult(String id, String label, Instant startedAt, Instant finishedAt,
    long rawBytes, long storedBytes, Optional<BackupManifest> manifest, Optional<String> error) {

  public boolean success() {
    return error.isEmpty();
  }

  public Duration duration() {
    return Duration.between(startedAt, finishedAt);
  }

  Map<String, Object> toMap() {
    var m = new LinkedHashMap<String, Object>();
    m.put("id", id);
    m.put("label", label);
    m.put("result", success() ? "success" : "failure");
    m.put("startedAt", startedAt.toString());
    m.put("finishedAt", finishedAt.toString());
    m.put("rawBytes", rawBytes);
    m.put("storedBytes", storedBytes);
    error.ifPresent(e -> m.put("error", e));
    return m;
  }
}
