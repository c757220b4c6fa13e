package io.pgsidecar.agent.wal.push;

import java.lang.System.Logger.Level;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.http.Problems;
import io.pgsidecar.agent.http.Responses;
import io.pgsidecar.agent.wal.archive.WalEvents;
import io.pgsidecar.core.wal.WalFileName;
import java.time.Duration;
import java.time.Instant;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;

/**
 * HTTP adapter of {@code POST /v1/wal/push} with body {@code {"path":"pg_wal/<file>"}}: parses
 * the request on the event loop, runs the push on a virtual thread, answers 200 with the stored
 * key and SHA-256 only after the object is durable, and with how it was answered ({@code answer}:
 * {@code uploaded}, {@code look-ahead} when the look-ahead had already stored it, {@code joined}
 * when the push waited for an upload of it that was under way).
 */
public final class WalPushHandler {

  private static final System.Logger LOG = System.getLogger(WalPushHandler.class.getName());

  private final WalPushService service;
  private final Blocking blocking;
  private final String cluster;

  private final WalEvents events;

  /** {@code cluster}: the only cluster this agent archives into. */
  public WalPushHandler(WalPushService service, Blocking blocking, String cluster, WalEvents events) {
    this.events = events;
    this.service = service;
    this.blocking = blocking;
    this.cluster = cluster;
  }

  public void push(RoutingContext ctx) {
    String path;
    String asked;
    try {
      JsonObject body = ctx.body().asJsonObject();
      path = body == null ? null : body.getString("path");
      asked = body == null ? null : body.getString("cluster");
    } catch (DecodeException | ClassCastException e) {
      Responses.json(ctx, 400, Map.of("error", "the request body is not JSON of the form"
          + " {\"path\":\"pg_wal/<file>\"}: " + e.getMessage()));
      return;
    }
    if (asked != null && !asked.equals(cluster)) {
      Responses.json(ctx, 400, Map.of("error", "this agent archives only into cluster '" + cluster
          + "', not '" + asked + "'; push without --cluster (it is for fetching another"
          + " cluster's WAL)"));
      return;
    }
    String requested = path;
    long t0 = System.nanoTime();
    blocking.call(ctx, () -> service.push(requested))
        .onSuccess(s -> {
          report(s, t0);
          Responses.json(ctx, 200, Map.of(
              "name", s.name(), "key", s.key(), "sha256", s.plainSha256(),
              "status", s.alreadyThere() ? "already-archived" : "stored",
              "answer", s.answer().label()));
        })
        .onFailure(t -> {
          Throwable c = Problems.unwrap(t);
          int status = Problems.status(c);
          events.pushed(status == 409 ? WalEvents.Outcome.CONFLICT : WalEvents.Outcome.ERROR, 0, 0,
              Duration.ofNanos(System.nanoTime() - t0));
          if (PgWalFile.isRefusal(c)) {
            events.refused(requested, c.getMessage());
          } else if (status >= 409) {
            events.failed("archiving " + requested, String.valueOf(c.getMessage()));
          }
          Problems.answer(ctx, c, "archiving " + requested);
        });
  }

  private void report(Stored s, long t0) {
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    events.pushed(WalEvents.Outcome.OK, s.plainSize(), s.storedSize(), took);
    // one line per archived file, like PostgreSQL's own archiver would: how it was answered and
    // how long the agent took (bench/wal-archive.sh splits archive_command's time with it)
    LOG.log(Level.INFO, "archived " + s.name() + " (" + (s.answer() == Stored.Answer.OWN_UPLOAD && s.alreadyThere()
        ? "already archived" : s.answer().label()) + ") in " + took.toMillis() + " ms");
    if (s.fromLookAhead()) {
      events.lookaheadHit();
    }
    if (WalFileName.parse(s.name()).isSegment()) {
      events.archived(s.name(), Instant.now());
    }
  }
}
