package io.pgsidecar.agent.wal.fetch;

import java.lang.System.Logger.Level;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.http.Problems;
import io.pgsidecar.agent.http.Responses;
import io.pgsidecar.agent.storage.StallGuard;
import io.pgsidecar.agent.wal.archive.WalEvents;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.wal.WalFileName;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * HTTP adapter of {@code GET /v1/wal/{name}?cluster=NAME}: streams the plain file with
 * {@code Content-Length} (plain size) and {@code X-Pgsidecar-Sha256} (the recorded checksum),
 * verifying the checksum while streaming ({@code X-Pgsidecar-Verified: sha256} says so, and
 * wal-archiver then skips its own digest). The last chunk is held back until the checksum
 * matches; on a mismatch the connection is reset so the client sees a truncated body and never
 * a complete but wrong segment (422 when nothing went out yet). 404 only when the archive does
 * not have the file; a storage failure is a 503 ({@link Problems}).
 *
 * <p>With the request header {@code X-Pgsidecar-Handoff: link} (wal-archiver's curl path) and
 * the file in the prefetch spool, the answer is 200 with no body and {@code X-Pgsidecar-Handoff:
 * <path of the spool file>}, verified and fsynced: the client hard-links it into place, and asks
 * again without the header when it cannot (another file system, another user).
 */
public final class WalFetchHandler {

  private static final System.Logger LOG = System.getLogger(WalFetchHandler.class.getName());
  private static final String HANDOFF = "X-Pgsidecar-Handoff";
  /**
   * Bytes per write to the connection. Each write is handed to the event loop and, once Netty's
   * queue is full, waited for: with 64 KiB a 16 MiB segment took 256 such hand-offs and streamed
   * at about 300 MB/s; 1 MiB makes it 16.
   */
  private static final int CHUNK = 1024 * 1024;

  private final WalFetchService service;
  private final Blocking blocking;
  private final Duration writeTimeout;

  private final WalEvents events;

  public WalFetchHandler(WalFetchService service, Blocking blocking, Duration writeTimeout,
      WalEvents events) {
    this.events = events;
    this.service = service;
    this.blocking = blocking;
    this.writeTimeout = writeTimeout;
  }

  public void fetch(RoutingContext ctx) {
    String rawName = ctx.pathParam("name");
    String cluster = ctx.queryParams().get("cluster");
    blocking.stream(ctx, "fetching " + rawName, () -> {
      long t0 = System.nanoTime();
      try {
        WalFileName name = WalFetchService.parseName(rawName);
        RepositoryLayout from = service.layoutFor(cluster);
        if ("link".equals(ctx.request().getHeader(HANDOFF))) {
          Optional<PrefetchSpool.Entry> spooled = service.handOff(from, name);
          if (spooled.isPresent()) {
            handOff(ctx, spooled.get());
            events.fetched(WalEvents.Outcome.OK, spooled.get().size(), 0, Duration.ofNanos(System.nanoTime() - t0));
            events.prefetchHit();
            service.served(from, name);
            return;
          }
        }
        Optional<Source> src = service.open(from, name);
        if (src.isEmpty()) {
          events.fetched(WalEvents.Outcome.NOT_FOUND, 0, 0, Duration.ofNanos(System.nanoTime() - t0));
          // the header is what wal-archiver takes as "not in the archive" (exit 1): a 404 from
          // anywhere else (a wrong route or port) must not end a recovery early
          ctx.response().putHeader("X-Pgsidecar-Missing", name.name());
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
        boolean clientError = e instanceof JobException && Problems.status(e) < 500;
        events.fetched(clientError ? WalEvents.Outcome.NOT_FOUND : WalEvents.Outcome.ERROR, 0, 0,
            Duration.ofNanos(System.nanoTime() - t0));
        if (!clientError) {
          events.failed("fetching " + rawName, String.valueOf(e.getMessage()));
        }
        if (ctx.response().headWritten()) {
          LOG.log(Level.WARNING, "serving " + rawName + " failed midway, connection reset: " + e.getMessage());
        }
        throw e; // Blocking answers it, or resets the stream under way
      }
    });
  }

  private void handOff(RoutingContext ctx, PrefetchSpool.Entry e) throws IOException {
    await(ctx.response().setStatusCode(200)
        .putHeader(HANDOFF, e.file().toAbsolutePath().toString())
        .putHeader("X-Pgsidecar-Sha256", e.sha256())
        .putHeader("X-Pgsidecar-Size", Long.toString(e.size()))
        .putHeader("X-Pgsidecar-Verified", "sha256")
        .putHeader("Content-Length", "0")
        .end());
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
      while ((n = fill(s.plain(), buf, stall)) > 0) {
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
      String damage = s.origin() + " has " + total + " bytes with SHA-256 " + sha
          + ", but the archive recorded " + s.size() + " bytes with SHA-256 " + s.sha256()
          + ". The stored object is damaged: restore it from another copy";
      if (!resp.headWritten()) {
        // nothing went out yet (a file smaller than one chunk): an error answer, not a reset
        resp.headers().clear();
        throw JobException.verificationFailed("refusing to serve " + s.name() + ": " + damage);
      }
      LOG.log(Level.ERROR, "refusing to finish serving " + s.name() + ": " + damage + " (connection reset so"
          + " the client gets a truncated file)");
      resp.reset();
      return false;
    }
    if (pending != null) {
      write(resp, pending);
    }
    await(resp.end());
    return true;
  }

  /** Reads until {@code buf} is full or the stream ends; the count read, 0 at the end. */
  private static int fill(InputStream in, byte[] buf, StallGuard stall) throws IOException {
    int n = 0;
    int k;
    while (n < buf.length && (k = in.read(buf, n, buf.length - n)) >= 0) {
      stall.progress();
      n += k;
    }
    return n;
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
