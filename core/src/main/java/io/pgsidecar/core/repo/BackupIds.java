package io.pgsidecar.core.repo;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.regex.Pattern;

/**
 * Base backup ids: the UTC start second, {@code 20261122T021500Z}, so that ids sort by time in
 * listings; {@code -1}, {@code -2}... are appended when the plain id is taken (two backups in
 * one second, or debris of a failed one). Ids become storage keys, so anything that does not
 * match {@link #isValid} is refused before it reaches a key.
 */
public final class BackupIds {

  private static final DateTimeFormatter FORMAT =
      DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final Pattern VALID = Pattern.compile("\\d{8}T\\d{6}Z(-[1-9]\\d{0,5})?");

  /** Orders ids by time, then by numeric suffix ({@code -2} before {@code -10}). */
  public static final Comparator<String> ORDER =
      Comparator.comparing((String id) -> base(id)).thenComparingInt(BackupIds::suffix);

  /** Tells whether an id is already used in the repository. */
  @FunctionalInterface
  public interface Taken {
    boolean test(String id) throws IOException;
  }

  private BackupIds() {}

  /** The first id for {@code start} that {@code taken} says is free. */
  public static String next(Instant start, Taken taken) throws IOException {
    String base = FORMAT.format(start.truncatedTo(ChronoUnit.SECONDS));
    if (!taken.test(base)) {
      return base;
    }
    for (int i = 1; i < 1000; i++) {
      String candidate = base + "-" + i;
      if (!taken.test(candidate)) {
        return candidate;
      }
    }
    throw new IOException("no free backup id for " + base + " after 1000 tries; "
        + "clean up the repository's base/ directory");
  }

  public static boolean isValid(String id) {
    return id != null && VALID.matcher(id).matches();
  }

  /** Throws {@link IllegalArgumentException} naming the id when it is not a backup id. */
  public static String requireValid(String id) {
    if (!isValid(id)) {
      throw new IllegalArgumentException("'" + id + "' is not a backup id (expected like "
          + "20261122T021500Z or 20261122T021500Z-1)");
    }
    return id;
  }

  private static String base(String id) {
    int dash = id.indexOf('-');
    return dash < 0 ? id : id.substring(0, dash);
  }

  private static int suffix(String id) {
    int dash = id.indexOf('-');
    if (dash < 0) {
      return 0;
    }
    try {
      return Integer.parseInt(id.substring(dash + 1));
    } catch (NumberFormatException e) {
      return Integer.MAX_VALUE;
    }
  }
}
