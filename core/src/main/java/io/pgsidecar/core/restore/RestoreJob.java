package io.pgsidecar.core.restore;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.restore.RecoveryTarget.Action;
import io.pgsidecar.core.restore.RecoveryTarget.Kind;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Turns the {@code restore.*} settings into a {@link Restorer} run: which archive (this
 * cluster's or {@code from-cluster}'s), which recovery target, what restore_command. Shared by
 * restore-init (settings from config) and {@code pgsidecar restore} (settings from options).
 */
public final class RestoreJob {

  private RestoreJob() {}

  /** The recovery target the settings name; none set means "replay to the end of the archive". */
  public static RecoveryTarget target(PgsidecarConfig.Restore r) {
    Action action = Action.valueOf(r.targetAction().toUpperCase(Locale.ROOT));
    Kind kind = Kind.LATEST;
    String value = null;
    if (r.targetTime().isPresent()) {
      kind = Kind.TIME;
      value = r.targetTime().get();
    } else if (r.targetLsn().isPresent()) {
      kind = Kind.LSN;
      value = r.targetLsn().get();
    } else if (r.targetXid().isPresent()) {
      kind = Kind.XID;
      value = r.targetXid().get();
    } else if (r.targetName().isPresent()) {
      kind = Kind.NAME;
      value = r.targetName().get();
    } else if (r.targetImmediate()) {
      kind = Kind.IMMEDIATE;
    }
    RecoveryTarget t = new RecoveryTarget(kind, value, r.targetExclusive(), action, r.targetTimeline());
    t.time(); // a bad time fails here, before anything is read or written
    return t;
  }

  /** The archive restored from: {@code restore.from-cluster}, else this server's own. */
  public static RepositoryLayout source(PgsidecarConfig config, PgsidecarConfig.Restore r) {
    return new RepositoryLayout(config.storage().prefix(), r.fromCluster().orElse(config.cluster()));
  }

  public static RecoverySettings settings(PgsidecarConfig.Restore r) {
    return new RecoverySettings(r.walArchiver(), r.socket(), r.fromCluster());
  }

  /** Restores into {@code pgdata} as {@code r} says; nothing is written when the plan fails. */
  public static Restorer.Result run(PgsidecarConfig config, PgsidecarConfig.Restore r, Path pgdata,
      Storage storage, CodecPipeline pipeline) throws IOException {
    RecoveryTarget target = target(r);
    Restorer restorer = new Restorer(storage, new ArchiveCatalog(storage, source(config, r)), pipeline);
    return restorer.restore(new Restorer.Request(new DataDirectory(pgdata), target,
        Optional.of(r.backup()), settings(r)));
  }
}
