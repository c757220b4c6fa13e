package io.pgsidecar.agent.backup;

import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Waits until WAL segments are in the repository, pushed by the agent's WAL push (not by us):
 * a base backup is usable only with the WAL from its start to its stop LSN, so backup.json waits
 * for it. Polls one listing per 16-hex WAL directory, backing off from 50 ms to 1 s.
 */
final class WalArrival {

  private static final Pattern SEGMENT = Pattern.compile("[0-9A-F]{24}");
  private static final Pattern CODEC_SUFFIX = Pattern.compile("(\\.[a-z][a-z0-9]*)*");

  private final Storage storage;
  private final RepositoryLayout layout;
  private final Duration walWaitTimeout;
  private final Clock clock;

  WalArrival(Storage storage, RepositoryLayout layout, Duration timeout, Clock clock) {
    this.storage = storage;
    this.layout = layout;
    this.walWaitTimeout = timeout;
    this.clock = clock;
  }

  /** Returns once every segment is stored; throws naming the first missing one on timeout. */
  void await(List<String> segments, String backupId, BooleanSupplier cancelled)
      throws IOException, InterruptedException {
    Instant deadline = clock.instant().plus(walWaitTimeout);
    Set<String> missing = new LinkedHashSet<>(segments);
    long sleepMs = 50;
    while (true) {
      Map<String, List<String>> byDir = missing.stream()
          .collect(Collectors.groupingBy(s -> s.substring(0, 16)));
      for (var e : byDir.entrySet()) {
        String dir = layout.walRoot() + e.getKey() + "/";
        Set<String> stored = new HashSet<>();
        try (var listing = storage.list(dir)) {
          listing.forEach(o -> storedSegment(o.key().substring(dir.length())).ifPresent(stored::add));
        }
        e.getValue().forEach(seg -> {
          if (stored.contains(seg)) {
            missing.remove(seg);
          }
        });
      }
      if (missing.isEmpty()) {
        return;
      }
      if (cancelled.getAsBoolean()) {
        throw new IOException("base backup " + backupId + " cancelled while waiting for WAL");
      }
      if (clock.instant().isAfter(deadline)) {
        throw new IOException("WAL segment " + missing.iterator().next() + " needed by base "
            + "backup " + backupId + " was not archived within " + walWaitTimeout + " ("
            + missing.size() + " of " + segments.size() + " segments missing); check "
            + "archive_command and the agent's WAL push log. The data stays unlisted and is "
            + "removed by the orphan cleanup");
      }
      Thread.sleep(sleepMs);
      sleepMs = Math.min(sleepMs * 2, 1000);
    }
  }

  /**
   * The segment name of a stored WAL object name, whatever codec suffix it was pushed with: a
   * segment is stored once, so one pushed before encryption was enabled keeps its {@code .zst}
   * (the rule of the WAL push's WalObjects). {@code .partial} and {@code .backup} files are not
   * segments.
   */
  static Optional<String> storedSegment(String objectName) {
    if (objectName.length() < 24 || !SEGMENT.matcher(objectName.substring(0, 24)).matches()) {
      return Optional.empty();
    }
    String rest = objectName.substring(24);
    return !rest.startsWith(".partial") && CODEC_SUFFIX.matcher(rest).matches()
        ? Optional.of(objectName.substring(0, 24)) : Optional.empty();
  }
}
