package io.pgsidecar.agent.verify;

import java.util.List;
import java.util.Map;

/**
 * What {@code pgsidecar backup verify} checked and found (it throws when something is wrong, so
 * a value of this type is a good backup).
 *
 * @param checks every checksum comparison made on the data object
 * @param walSegments the WAL segments fetched, checked and handed to pg_verifybackup
 * @param pgVerifybackup what pg_verifybackup said
 * @param restored whether the backup was restored and started ({@code --restore})
 * @param probe the probe query's answer on the restored server ("" without {@code --restore})
 * @param stepsMillis how long each step took, in order
 */
public record BackupVerification(String backupId, String dataKey, long storedSize,
    String storedSha256, long plainSize, String plainSha256, List<String> checks,
    List<String> walSegments, String pgVerifybackup, boolean restored, String probe,
    Map<String, Long> stepsMillis, long durationMillis) {}
