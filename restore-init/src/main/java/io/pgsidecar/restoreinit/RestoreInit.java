package io.pgsidecar.restoreinit;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.ConfigException;
import io.pgsidecar.core.config.ConfigLoader;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.restore.DataDirectory;
import io.pgsidecar.core.restore.RestoreJob;
import io.pgsidecar.core.restore.Restorer;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.factory.StorageFactory;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The init container: restores a base backup into {@code pgdata} and writes the recovery
 * settings, so that the PostgreSQL container starts in point-in-time recovery.
 *
 * <p>It acts only when asked ({@code restore.enabled}) and only on a data directory that is empty
 * or holds its own unfinished-restore marker. A data directory that already holds a server is left
 * alone (exit 0: the pod restarts normally after a completed restore); anything else non-empty is
 * refused (exit 1), never deleted. Configuration: {@code --config FILE} or
 * {@code $PGSIDECAR_CONFIG}, plus {@code PGSIDECAR_*} variables.
 *
 * <p>Exit codes: 0 restored or nothing to do, 1 refused or failed, 2 configuration error.
 */
public final class RestoreInit {

  private RestoreInit() {}

  public static void main(String[] args) {
    System.exit(run(args, System.getenv(), System.out, System.err));
  }

  /** One run against the given environment and streams; returns the exit code. */
  public static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
    Optional<Path> file = Optional.ofNullable(env.get("PGSIDECAR_CONFIG"))
        .filter(s -> !s.isEmpty()).map(Path::of);
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        file = Optional.of(Path.of(args[++i]));
      } else if (args[i].startsWith("--config=")) {
        file = Optional.of(Path.of(args[i].substring("--config=".length())));
      } else {
        err.println("restore-init: unknown argument '" + args[i] + "'; usage: restore-init [--config FILE]");
        return 2;
      }
    }
    PgsidecarConfig config;
    try {
      config = ConfigLoader.load(file, env);
    } catch (ConfigException e) {
      err.println("restore-init: " + e.getMessage());
      return 2;
    }
    CodecPipeline pipeline;
    try {
      pipeline = Pipelines.forConfig(config.compression(), config.encryption());
    } catch (RuntimeException e) { // an unreadable key or passphrase file
      err.println("restore-init: " + e.getMessage());
      return 2;
    }
    return run(config, out, err, () -> StorageFactory.open(config.storage()), pipeline);
  }

  /** Opens storage lazily: nothing is contacted when there is nothing to do. */
  @FunctionalInterface
  public interface StorageOpener {
    Storage open() throws IOException;
  }

  public static int run(PgsidecarConfig config, PrintStream out, PrintStream err,
      StorageOpener storage, CodecPipeline pipeline) {
    PgsidecarConfig.Restore r = config.restore();
    if (!r.enabled()) {
      out.println("restore-init: restore not requested (restore.enabled is false); nothing to do");
      return 0;
    }
    DataDirectory pgdata = new DataDirectory(config.pgdata());
    try {
      switch (pgdata.state()) {
        case HOLDS_SERVER -> {
          // A marker beside PG_VERSION is one whose removal was lost after a finished restore.
          pgdata.removeMarker();
          out.println("restore-init: " + pgdata.path() + " already holds a PostgreSQL server"
              + " (PG_VERSION exists); not restoring over it, nothing to do");
          return 0;
        }
        case UNCLEAR -> {
          err.println("restore-init: " + pgdata.unclearReason());
          return 1;
        }
        case FOREIGN -> {
          err.println("restore-init: data directory " + pgdata.path() + " is not empty and holds"
              + " no restore marker of ours; refusing to touch it. Point pgdata at an empty"
              + " directory, or empty it yourself if it is disposable");
          return 1;
        }
        case UNFINISHED_RESTORE -> out.println("restore-init: " + pgdata.path()
            + " holds an unfinished restore of ours; starting over");
        case EMPTY -> { }
      }
      try (Storage store = storage.open()) {
        Restorer.Result res = RestoreJob.run(config, r, pgdata.path(), store, pipeline);
        out.println("restore-init: restored backup " + res.backup().id() + " into " + pgdata.path()
            + ": " + res.files() + " files, " + res.bytes() + " bytes in "
            + res.duration().toMillis() + " ms; target " + RestoreJob.target(r).describe()
            + "; the archive covers " + res.window().describe());
        out.println("restore-init: PostgreSQL will replay WAL through " + r.walArchiver()
            + " fetch when it starts");
        return 0;
      }
    } catch (IOException | IllegalArgumentException e) {
      err.println("restore-init: restore failed: " + e.getMessage());
      return 1;
    }
  }
}
