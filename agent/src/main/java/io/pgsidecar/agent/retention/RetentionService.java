package io.pgsidecar.agent.retention;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.retention.ListingReader;
import io.pgsidecar.core.retention.PermanentMarks;
import io.pgsidecar.core.retention.Plan;
import io.pgsidecar.core.retention.RetentionExecutor;
import io.pgsidecar.core.retention.RetentionPlanner;
import io.pgsidecar.core.retention.RetentionPolicy;
import io.pgsidecar.core.storage.Storage;
import java.io.InputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Retention of one cluster's repository: reads the listing, plans with the configured policy
 * ({@link RetentionPlanner}), and unless it is a dry run applies the plan
 * ({@link RetentionExecutor}); marks and releases permanent backups and dumps. One run at a time
 * (a second is a CONFLICT); no HTTP, no Vert.x: the routes and the scheduler call it on their
 * own threads. History files are decoded with the agent's pipeline to learn each timeline's
 * ancestry; one it cannot decode (an encrypted archive without a secret key) makes retention keep
 * what that timeline might need.
 */
public final class RetentionService {

  private static final Logger LOG = System.getLogger(RetentionService.class.getName());

  /**
   * One run: what triggered it, the plan, and what the executor did (empty for a dry run).
   *
   * @param trigger {@code request}, {@code after base backup <id>}, {@code schedule}
   */
  public record Run(String trigger, boolean dryRun, Plan plan,
      Optional<RetentionExecutor.Outcome> outcome, Instant started, Instant finished,
      Map<String, Stored> deleted) {}

  /** Objects and stored bytes of one kind ({@link RetentionReport#kind}). */
  public record Stored(long objects, long bytes) {
    Stored plus(Stored o) {
      return new Stored(objects + o.objects, bytes + o.bytes);
    }

    Stored minus(Stored o) {
      return new Stored(objects - o.objects, bytes - o.bytes);
    }
  }

  private final Storage storage;
  private final RepositoryLayout layout;
  private final RetentionPolicy policy;
  private final CodecPipeline pipeline;
  private final Clock clock;
  private final RetentionMetrics metrics;
  private final ReentrantLock running = new ReentrantLock();
  private final io.pgsidecar.agent.feature.FeatureContext.Events events;
  private volatile Run last;
  private volatile String lastFailure;

  public RetentionService(Storage storage, RepositoryLayout layout, RetentionPolicy policy,
      CodecPipeline pipeline, Clock clock, RetentionMetrics metrics,
      io.pgsidecar.agent.feature.FeatureContext.Events events) {
    this.storage = storage;
    this.layout = layout;
    this.policy = policy;
    this.pipeline = pipeline;
    this.clock = clock;
    this.metrics = metrics;
    this.events = events;
    metrics.enabled(policy.isSet());
  }

  public RetentionPolicy policy() {
    return policy;
  }

  /** The message of the last failed run, empty once a run succeeded. */
  public Optional<String> lastFailure() {
    return Optional.ofNullable(lastFailure);
  }

  /** The newest run that was not a dry run, if any ended since the agent started. */
  public Optional<Run> lastRun() {
    return Optional.ofNullable(last);
  }

  /**
   * Plans and, unless {@code dryRun}, applies retention now.
   *
   * @throws JobException CONFLICT while another run is under way; STORAGE_UNAVAILABLE when the
   *     repository cannot be read or a delete fails (what was not deleted stays)
   */
  public Run apply(boolean dryRun, String trigger) {
    if (!running.tryLock()) {
      throw JobException.conflict("retention is already running; wait for it to end (pgsidecar"
          + " retention apply --dry-run shows what it will remove)");
    }
    Instant started = clock.instant();
    try {
      Plan plan = RetentionPlanner.plan(new ListingReader(storage, layout, this::decodeHistory).read(),
          started, policy);
      if (dryRun) {
        return new Run(trigger, true, plan, Optional.empty(), started, clock.instant(), Map.of());
      }
      LOG.log(Level.INFO, "retention ({0}): removing {1} objects ({2} bytes) of {3}; policy: base"
          + " backups {4}, dumps {5}", trigger, plan.removedObjects(), plan.removedBytes(),
          storage.describe(), policy.baseBackups().describe(), policy.dumps().describe());
      // every object whose delete was done (or found it gone): no longer stored after the run
      Map<String, Stored> deleted = new ConcurrentHashMap<>();
      RetentionExecutor.Outcome outcome = new RetentionExecutor(storage, layout, (d, o, existed) -> {
        deleted.merge(RetentionReport.kind(d.subject()), new Stored(1, o.storedSize()), Stored::plus);
        metrics.removed(d.subject(), o.storedSize());
      }).apply(plan);
      Run run = new Run(trigger, false, plan, Optional.of(outcome), started, clock.instant(),
          Map.copyOf(deleted));
      last = run;
      lastFailure = null;
      metrics.succeeded(run.finished(), plan);
      if (outcome.objects() > 0) {
        events.repositoryChanged();
      }
      LOG.log(Level.INFO, "retention ({0}): removed {1} objects ({2} bytes, {3} already gone), {4}"
          + " left in place as marked permanent meanwhile", trigger, outcome.objects(), outcome.bytes(),
          outcome.alreadyGone(), outcome.skipped());
      return run;
    } catch (JobException e) {
      if (!dryRun && e.kind() != JobException.Kind.CONFLICT) {
        metrics.failed(clock.instant());
        lastFailure = e.getMessage();
        events.error("retention (" + trigger + ")", e.getMessage());
      }
      LOG.log(Level.ERROR, "retention ({0}) failed: {1}", trigger, e.getMessage());
      throw e;
    } finally {
      running.unlock();
    }
  }

  /** Runs retention on a virtual thread when a policy is set; a failure is logged and counted. */
  public void applyLater(String trigger) {
    if (!policy.isSet()) {
      return;
    }
    Thread.ofVirtual().name("retention").start(() -> {
      try {
        apply(false, trigger);
      } catch (JobException e) {
        if (e.kind() == JobException.Kind.CONFLICT) {
          LOG.log(Level.INFO, "retention ({0}) skipped: a run is under way", trigger);
        }
      } catch (RuntimeException e) {
        metrics.failed(clock.instant());
        LOG.log(Level.ERROR, "retention (" + trigger + ") failed", e);
      }
    });
  }

  public boolean keep(PermanentMarks.Kind kind, String id, String note) {
    boolean made = new PermanentMarks(storage, layout).keep(kind, id, note, clock.instant());
    LOG.log(Level.INFO, "{0} {1} {2}", kind, id, made ? "marked permanent" : "was permanent already");
    return made;
  }

  public boolean release(PermanentMarks.Kind kind, String id) {
    boolean released = new PermanentMarks(storage, layout).release(kind, id);
    LOG.log(Level.INFO, "{0} {1} {2}", kind, id, released ? "released (no longer permanent)"
        : "was not permanent");
    return released;
  }

  private Optional<byte[]> decodeHistory(io.pgsidecar.core.storage.ObjectInfo o) {
    try (InputStream stored = storage.open(o.key()).orElse(null)) {
      if (stored == null) {
        return Optional.empty();
      }
      try (InputStream plain = pipeline.decode(stored, o.metadata().codec(), o.key())) {
        return Optional.of(plain.readNBytes(1 << 20));
      }
    } catch (java.io.IOException | RuntimeException e) {
      LOG.log(Level.INFO, "retention: cannot decode {0}: {1}", o.key(), e.getMessage());
      return Optional.empty();
    }
  }
}
