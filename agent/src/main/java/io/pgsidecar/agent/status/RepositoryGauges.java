package io.pgsidecar.agent.status;

import io.pgsidecar.agent.dump.DumpService;
import io.pgsidecar.agent.dump.DumpStatus;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.metrics.BackupKind;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.DumpManifest;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * The gauges that describe the repository rather than this process: backups and dumps retained,
 * the newest success of each kind (so a restart of the agent does not read as "never backed up"),
 * and the recoverable window. Read at start-up and again after every backup or dump, on a
 * virtual thread of its own; listing the repository never runs on a request's thread.
 */
public final class RepositoryGauges {

  private static final Logger LOG = Logger.getLogger(RepositoryGauges.class.getName());

  private final ArchiveCatalog catalog;
  private final Optional<DumpService> dumps;
  private final AgentMetrics metrics;
  private final AgentActivity activity;
  private final AtomicBoolean pending = new AtomicBoolean();
  private volatile Optional<ArchiveCatalog.Window> window = Optional.empty();

  public RepositoryGauges(ArchiveCatalog catalog, Optional<DumpService> dumps, AgentMetrics metrics,
      AgentActivity activity) {
    this.catalog = catalog;
    this.dumps = dumps;
    this.metrics = metrics;
    this.activity = activity;
  }

  /** Reads the repository now (blocking) and seeds the last successes; for start-up. */
  public void seed() throws IOException {
    List<BackupManifest> backups = catalog.backups();
    if (!backups.isEmpty()) {
      BackupManifest b = backups.getLast();
      metrics.backupLastSuccess(BackupKind.BASE, b.stopTime(),
          Duration.between(b.startTime(), b.stopTime()), b.rawSize(), b.storedSize());
    }
    Optional<DumpManifest> newestDump = refreshDumps();
    newestDump.ifPresent(d -> metrics.backupLastSuccess(BackupKind.DUMP, d.stop(),
        Duration.between(d.start(), d.stop()), d.rawSize(), d.storedSize()));
    refreshBackups(backups);
  }

  /** Re-reads counts and the window on a virtual thread; calls while one runs fold into it. */
  public void refreshLater() {
    if (!pending.compareAndSet(false, true)) {
      return;
    }
    Thread.ofVirtual().name("repository-gauges").start(() -> {
      pending.set(false);
      try {
        refreshBackups(catalog.backups());
        refreshDumps();
      } catch (IOException | RuntimeException e) {
        LOG.warning("cannot read the repository for the retained/recoverability gauges: " + e.getMessage());
        activity.error("reading the repository " + catalog.describe(), String.valueOf(e.getMessage()));
      }
    });
  }

  /** The window last read from the repository. */
  public Optional<ArchiveCatalog.Window> window() {
    return window;
  }

  private void refreshBackups(List<BackupManifest> backups) throws IOException {
    metrics.retained(BackupKind.BASE, backups.size());
    Optional<ArchiveCatalog.Window> w = ArchiveCatalog.window(backups, catalog.segments());
    window = w;
    activity.window(w.map(ArchiveCatalog.Window::firstTime).orElse(null),
        w.map(ArchiveCatalog.Window::lastTime).orElse(null));
  }

  private Optional<DumpManifest> refreshDumps() throws IOException {
    if (dumps.isEmpty()) {
      return Optional.empty();
    }
    List<DumpManifest> complete = dumps.get().list().stream()
        .filter(s -> s.state() == DumpStatus.State.COMPLETE).map(DumpStatus::manifest).toList();
    metrics.retained(BackupKind.DUMP, complete.size());
    return complete.isEmpty() ? Optional.empty() : Optional.of(complete.getLast());
  }
}
