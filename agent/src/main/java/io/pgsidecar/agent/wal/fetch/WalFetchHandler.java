package io.pgsidecar.agent.wal.fetch;

import io.pgsidecar.agent.http.HttpProblem;
import io.pgsidecar.agent.http.Responses;
import io.pgsidecar.agent.storage.StallGuard;
import io.pgsidecar.agent.wal.WalEvents;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.wal.WalFileName;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * HTTP adapter of {@code GET /v1/wal/{name}?cluster=NAME}: streams the plain file with
 * {@code Content-Length} (plain size) and {@code X-Pgsidecar-Sha256} (the recorded checksum),
 * verifying the checksum while streaming ({@code X-Pgsidecar-Verified: sha256} says so, and
 * wal-archiver then skips its own digest). The last chunk is held back until the checksum
 * matches; on a mismatch the connection is reset so the client sees a truncated body and never
 * a complete but wrong segment. 404 only when the archive does not have the file; a storage
 * failure is a 503.
 */
public final class WalFetchHandler {

  private static final Logger LOG = Logger.getLogger(WalFetchHandler.class.getName());
  private static final int CHUNK = 64 * 1024;

  private final WalFetchService service;
  private final Executor blocking;
  private final Duration writeTimeout;

  private final WalEvents events;

  public WalFetchHandler(WalFetchService service, Executor blocking, Duration writeTimeout,
      WalEvents events) {
    this.events = events;
    this.service = service;
    this.blocking = blocking;
    this.writeTimeout = writeTimeout;
  }

  public void fetch(RoutingContext ctx) {
    String rawName = ctx.pathParam("name");
    String cluster = ctx.queryParams().get("cluster");
    blocking.execute(() -> {
      long t0 = System.nanoTime();
      try {
        WalFileName name = WalFetchService.parseName(rawName);
        RepositoryLayout from = service.layoutFor(cluster);
        Optional<Source> src = service.open(from, name);
        if (src.isEmpty()) {
          events.fetched(WalEvents.Outcome.NOT_FOUND, 0, 0, Duration.ofNanos(System.nanoTime() - t0));
          Responses.json(ctx, 404, Map.of("error", "WAL file " + name + " is not in the archive "
              + from.walRoot()));
          return;
        }
        try (Source s = src.get()) {
          boolean complete = stream(ctx.response(), s);
          boolean spooled = s.origin().startsWith("spool:");
          events.fetched(complete ? WalEvents.Outcome.OK : WalEvents.Outcome.ERROR,
              complete ? s.size() : 0, complete && !spooled ? s.storedSize() : 0,
              Duration.ofNanos(System.nanoTime() - t0));
          if (complete && spooled) {
            events.prefetchHit();
          }
          if (complete) {
            service.served(from, name);
          }
        }
      } catch (IOException | RuntimeException e) {
        boolean clientError = e instanceof HttpProblem p && p.status() < 500;
        events.fetched(clientError ? WalEvents.Outcome.NOT_FOUND : WalEvents.Outcome.ERROR, 0, 0,
            Duration.ofNanos(System.nanoTime() - t0));
        if (!clientError) {
          events.failed("fetching " + rawName, String.valueOf(e.getMessage()));
        }
        if (ctx.response().headWritten()) {
          LOG.warning("serving " + rawName + " failed midway, connection reset: " + e.getMessage());
          ctx.response().reset();
        } else {
          Responses.failure(ctx, "fetching " + rawName, e);
        }
      }
    });
  }

  /** Streams {@code s}; {@code true} when the whole file went out verified. */
  private boolean stream(HttpServerResponse resp, Source s) throws IOException {
    resp.setStatusCode(200)
        .putHeader("Content-Type", "application/octet-stream")
        .putHeader("X-Pgsidecar-Sha256", s.sha256())
        // the last chunk waits for the checksum below: wal-archiver need not hash it again
        .putHeader("X-Pgsidecar-Verified", "sha256");
    if (s.size() >= 0) {
      resp.putHeader("Content-Length", Long.toString(s.size()));
    } else {
      resp.setChunked(true);
    }
    MessageDigest md = sha256();
    byte[] buf = new byte[CHUNK];
    Buffer pending = null;
    long total = 0;
    int n;
    try (StallGuard stall = StallGuard.watch(s.plain(), writeTimeout, "reading " + s.origin())) {
      while ((n = s.plain().read(buf)) >= 0) {
        stall.progress();
        if (n == 0) {
          continue;
        }
        md.update(buf, 0, n);
        total += n;
        if (pending != null) {
          write(resp, pending);
        }
        pending = Buffer.buffer(n).appendBytes(buf, 0, n);
      }
    }
    String sha = HexFormat.of().formatHex(md.digest());
    if (!sha.equals(s.sha256()) || (s.size() >= 0 && total != s.size())) {
      LOG.severe("refusing to finish serving " + s.name() + " from " + s.origin() + ": its content has "
          + total + " bytes with SHA-256 " + sha + ", but the archive recorded " + s.size()
          + " bytes with SHA-256 " + s.sha256() + "; connection reset so the client gets a truncated"
          + " file. The stored object is damaged: restore it from another copy");
      resp.reset();
      return false;
    }
    if (pending != null) {
      write(resp, pending);
    }
    await(resp.end());
    return true;
  }

  private void write(HttpServerResponse resp, Buffer b) throws IOException {
    Future<Void> f = resp.write(b);
    if (resp.writeQueueFull()) {
      await(f);
    }
  }

  private void await(Future<Void> f) throws IOException {
    try {
      f.toCompletionStage().toCompletableFuture().get(writeTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while sending a WAL file");
    } catch (Exception e) {
      throw new IOException("the client went away or stopped reading: " + e.getMessage(), e);
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
