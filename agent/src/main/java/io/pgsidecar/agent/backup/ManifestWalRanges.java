package io.pgsidecar.agent.backup;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Pulls {@code WAL-Ranges} out of a {@code backup_manifest} as it streams past, with Jackson's
 * non-blocking parser: the manifest lists every file of the cluster and can be tens of MB, so it
 * is never held in memory. Everything but the WAL ranges is skipped token by token.
 */
final class ManifestWalRanges implements TarScanner.MemberSink {

  private final JsonParser parser;
  private final ByteArrayFeeder feeder;
  private final List<WalRange> ranges = new ArrayList<>();
  private int depth;
  private String field;
  private boolean inRanges;
  private Long timeline;
  private String start;
  private String end;
  private boolean done;

  ManifestWalRanges() {
    try {
      parser = new JsonFactory().createNonBlockingByteArrayParser();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
  }

  @Override
  public void data(byte[] b, int off, int len) throws IOException {
    feeder.feedInput(b, off, off + len);
    drain(); // consumes all input, so the caller may reuse b afterwards
  }

  @Override
  public void end() throws IOException {
    feeder.endOfInput();
    drain();
    done = true;
    if (ranges.isEmpty()) {
      throw new IOException("backup_manifest has no WAL-Ranges; cannot tell which WAL the "
          + "backup needs");
    }
  }

  /** True once the whole manifest went by and held at least one range. */
  boolean done() {
    return done;
  }

  List<WalRange> ranges() {
    return List.copyOf(ranges);
  }

  private void drain() throws IOException {
    JsonToken t;
    try {
      while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
        onToken(t);
      }
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IOException("backup_manifest in the tar stream is not valid JSON: "
          + e.getOriginalMessage(), e);
    }
  }

  private void onToken(JsonToken t) throws IOException {
    switch (t) {
      case START_ARRAY -> {
        if (depth == 1 && "WAL-Ranges".equals(field)) {
          inRanges = true;
        }
        depth++;
      }
      case START_OBJECT -> {
        if (inRanges && depth == 2) {
          timeline = null;
          start = null;
          end = null;
        }
        depth++;
      }
      case END_OBJECT -> {
        depth--;
        if (inRanges && depth == 2) {
          addRange();
        }
      }
      case END_ARRAY -> {
        depth--;
        if (inRanges && depth == 1) {
          inRanges = false;
        }
      }
      case FIELD_NAME -> field = parser.currentName();
      default -> {
        if (inRanges && depth == 3) {
          switch (field) {
            case "Timeline" -> timeline = parser.getLongValue();
            case "Start-LSN" -> start = parser.getText();
            case "End-LSN" -> end = parser.getText();
            default -> { }
          }
        }
      }
    }
  }

  private void addRange() throws IOException {
    if (timeline == null || start == null || end == null) {
      throw new IOException("backup_manifest has a WAL-Ranges entry without Timeline, Start-LSN "
          + "or End-LSN");
    }
    try {
      ranges.add(new WalRange(timeline, WalPositions.parseLsn(start), WalPositions.parseLsn(end)));
    } catch (IllegalArgumentException e) {
      throw new IOException("backup_manifest WAL-Ranges: " + e.getMessage(), e);
    }
  }
}
