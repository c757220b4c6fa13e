package io.pgsidecar.core.restore;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;

/** Parses target times as people write them and formats them as PostgreSQL reads them. */
final class TargetTimes {

  private static final DateTimeFormatter LENIENT = new DateTimeFormatterBuilder()
      .appendPattern("yyyy-MM-dd")
      .optionalStart().appendLiteral('T').optionalEnd()
      .optionalStart().appendLiteral(' ').optionalEnd()
      .appendPattern("HH:mm:ss")
      .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
      .optionalStart().appendLiteral(' ').optionalEnd()
      .optionalStart().appendOffset("+HH:MM", "Z").optionalEnd()
      .optionalStart().appendOffset("+HHMM", "Z").optionalEnd()
      .optionalStart().appendOffset("+HH", "Z").optionalEnd()
      .toFormatter();

  private static final DateTimeFormatter POSTGRES =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSxxx").withZone(ZoneOffset.UTC);

  private TargetTimes() {}

  /** {@code 2026-11-22T02:15:00Z}, {@code 2026-11-22 02:15:00.123+01}; no offset means UTC. */
  static Instant parse(String s) {
    try {
      var parsed = LENIENT.parseBest(s.trim(), OffsetDateTime::from,
          java.time.LocalDateTime::from);
      if (parsed instanceof OffsetDateTime odt) {
        return odt.toInstant();
      }
      return ((java.time.LocalDateTime) parsed).toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("target time '" + s
          + "': expected e.g. 2026-11-22T02:15:00Z or '2026-11-22 02:15:00+01' (no offset = UTC)");
    }
  }

  static String forPostgres(Instant t) {
    return POSTGRES.format(t);
  }
}
