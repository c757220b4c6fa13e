package io.pgsidecar.agent.wal;

import io.pgsidecar.agent.feature.Feature;
import io.pgsidecar.agent.http.Blocking;
import io.pgsidecar.agent.storage.Retry;
import io.pgsidecar.agent.wal.archive.WalEvents;
import io.pgsidecar.agent.wal.fetch.PrefetchSpool;
import io.pgsidecar.agent.wal.fetch.WalFetchHandler;
import io.pgsidecar.agent.wal.fetch.WalFetchService;
import io.pgsidecar.agent.wal.push.ClusterGuard;
import io.pgsidecar.agent.wal.push.LookAhead;
import io.pgsidecar.agent.wal.push.SegmentUploader;
import io.pgsidecar.agent.wal.push.WalPushHandler;
import io.pgsidecar.agent.wal.push.WalPushService;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.RetryPolicy;
import io.pgsidecar.core.storage.Storage;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * WAL archiving: push ({@code wal.push}: {@link WalPushService} behind {@link WalPushHandler},
 * with the {@link LookAhead}) and fetch ({@code wal.fetch}: {@link WalFetchService} behind
 * {@link WalFetchHandler}, with the {@link PrefetchSpool}), reporting to {@link WalEvents} (the
 * WAL metrics), and {@link WalCommand} ({@code pgsidecar wal list}).
 *
 * <p>Every {@code Agent} serves WAL, also one built without the other features (the WAL client
 * tests, bench), so the agent opens this feature itself ({@link #wire}) on both sockets, and the
 * registry's {@link #open} adds nothing more.
 */
public final class WalFeature implements Feature {

  @Override
  public String name() {
    return "WAL archive";
  }

  @Override
  public List<Class<?>> commands() {
    return List.of(WalCommand.class);
  }

  /** The WAL routes and their services for one agent; {@code retry} bounds storage calls. */
  public static Wal wire(PgsidecarConfig config, Storage storage, CodecPipeline pipeline,
      Retry retry, WalEvents events) {
    RepositoryLayout layout = new RepositoryLayout(config.storage().prefix(), config.cluster());
    PgsidecarConfig.Wal wal = config.wal();
    SegmentUploader uploader = new SegmentUploader(storage,
        pipeline.withCompressionLevel(wal.compressionLevel()), layout, retry);
    LookAhead lookAhead = new LookAhead(config.pgdata().resolve("pg_wal"), uploader,
        wal.lookaheadConcurrency(), wal.lookaheadMax(), events);
    ClusterGuard guard = new ClusterGuard(storage, layout, config.pgdata(), retry);
    WalPushService push = new WalPushService(config.pgdata(), guard, uploader, lookAhead);
    PrefetchSpool spool = new PrefetchSpool(wal.spoolDir(), wal.spoolMaxBytes(),
        wal.prefetchCount(), config.storage().timeout());
    WalFetchService fetch = WalFetchService.withSpool(storage, pipeline, layout,
        retry.forOperation(RetryPolicy.Operation.FETCH), spool);
    return new Wal(config, push, fetch, spool, events);
  }

  /** WAL in a running agent: its routes on both sockets, its start and its graceful stop. */
  public static final class Wal implements Running {
    private final PgsidecarConfig config;
    private final WalPushService push;
    private final WalFetchService fetch;
    private final PrefetchSpool spool;
    private final WalEvents events;
    private WalPushHandler pushRoute;
    private WalFetchHandler fetchRoute;

    private Wal(PgsidecarConfig config, WalPushService push, WalFetchService fetch,
        PrefetchSpool spool, WalEvents events) {
      this.config = config;
      this.push = push;
      this.fetch = fetch;
      this.spool = spool;
      this.events = events;
    }

    /** {@code POST /v1/wal/push} and {@code GET /v1/wal/{name}} (any cluster on this router). */
    @Override
    public void adminRoutes(Router router, Blocking blocking) {
      pushRoute = new WalPushHandler(push, blocking, config.cluster(), events);
      fetchRoute = new WalFetchHandler(fetch, blocking, config.storage().timeout(), events);
      // no file uploads: BodyHandler would otherwise create ./file-uploads, and the agent's
      // working directory may be read-only
      router.post("/v1/wal/push").handler(BodyHandler.create(false).setBodyLimit(64 * 1024))
          .handler(pushRoute::push);
      router.get("/v1/wal/:name").handler(fetchRoute::fetch);
    }

    /** The push route, for the hook socket (after {@link #adminRoutes}). */
    public WalPushHandler pushRoute() {
      return pushRoute;
    }

    /** The fetch route, for the hook socket (after {@link #adminRoutes}). */
    public WalFetchHandler fetchRoute() {
      return fetchRoute;
    }

    /** Removes what a previous agent left in the prefetch spool. */
    public void prepare() throws IOException {
      spool.cleanAtStart();
    }

    /** New pushes are refused with 503 from now on. */
    public void beginShutdown() {
      push.beginShutdown();
    }

    /** Waits for pushes under way; false (and a warning) when some did not finish in time. */
    public boolean awaitPushes(Duration left, Duration grace) throws InterruptedException {
      if (push.awaitIdle(left)) {
        return true;
      }
      System.getLogger(WalFeature.class.getName()).log(System.Logger.Level.WARNING,
          push.activePushes() + " WAL push(es) did not finish within http.shutdown-grace=" + grace
              + "; they were not acknowledged and PostgreSQL will retry them");
      return false;
    }

    @Override
    public void close() {
      spool.close();
    }
  }
}
