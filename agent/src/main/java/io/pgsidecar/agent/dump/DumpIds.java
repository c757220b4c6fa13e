package io.pgsidecar.agent.dump;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Time-sortable dump ids: {@code 20261122T021500Z}, then {@code -1}, {@code -2}... when that
 * second is taken. Merge note: same format as the backup helper's {@code core.repo.BackupIds};
 * replace this class by that one when both are merged.
 */
final class DumpIds {

  private static final DateTimeFormatter FORMAT =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

  /** What {@link #next} produces; anything else is refused before it reaches a storage key. */
  private static final Pattern VALID = Pattern.compile("\\d{8}T\\d{6}Z(-\\d+)?");

  private DumpIds() {}

  /** The id for a dump starting at {@code now} that {@code taken} does not know yet. */
  static String next(Instant now, Predicate<String> taken) {
    String base = FORMAT.format(now.truncatedTo(ChronoUnit.SECONDS));
    String id = base;
    for (int n = 1; taken.test(id); n++) {
      id = base + "-" + n;
    }
    return id;
  }

  static boolean isValid(String id) {
    return id != null && VALID.matcher(id).matches();
  }

  /** Rejects ids that could escape the dumps/ folder (ids arrive in URLs and on command lines). */
  static String require(String id) {
    if (!isValid(id)) {
      throw new IllegalArgumentException("'" + id + "' is not a dump id; dump ids look like"
          + " 20261122T021500Z (see 'pgsidecar dump list')");
    }
    return id;
  }
}
