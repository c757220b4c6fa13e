package io.pgsidecar.agent.status;

import java.lang.System.Logger.Level;
import io.pgsidecar.agent.feature.Feature;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.metrics.BackupKind;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The gauges that describe the repository rather than this process: backups and dumps retained,
 * the newest success of each kind (so a restart of the agent does not read as "never backed up"),
 * and the recoverable window. Read at start-up and again after every backup or dump, on a
 * virtual thread of its own; listing the repository never runs on a request's thread.
 */
public final class RepositoryGauges {

  private static final System.Logger LOG = System.getLogger(RepositoryGauges.class.getName());

  private final ArchiveCatalog catalog;
  private final List<? extends Feature.Running> features;
  private final AgentMetrics metrics;
  private final AgentActivity activity;
  private final AtomicBoolean pending = new AtomicBoolean();
  private volatile Optional<ArchiveCatalog.Window> window = Optional.empty();

  /** @param features read their own gauges of the repository ({@link Feature.Running#readRepository}) */
  public RepositoryGauges(ArchiveCatalog catalog, List<? extends Feature.Running> features,
      AgentMetrics metrics, AgentActivity activity) {
    this.catalog = catalog;
    this.features = features;
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
    for (Feature.Running f : features) {
      f.readRepository(true);
    }
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
        for (Feature.Running f : features) {
          f.readRepository(false);
        }
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.WARNING, "cannot read the repository for the retained/recoverability gauges: " + e.getMessage());
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
}
