package io.pgsidecar.agent.verify;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How verifications run on this machine.
 *
 * @param workDir where scratch directories go ({@code verify.work-dir}); needs room for one
 *     unpacked backup
 * @param binDir the PostgreSQL programs ({@code postgres.bin-dir})
 * @param runAs the OS user that runs the scratch server when the agent runs as root
 *     ({@code verify.run-as}); PostgreSQL refuses to run as root
 * @param user the role the probe query connects as on a scratch server ({@code postgres.user})
 * @param database the database the probe query runs in ({@code postgres.database})
 * @param probe the probe query ({@code verify.probe-query})
 * @param timeout bound of each program run and of the wait for consistency ({@code verify.timeout})
 */
public record VerifySettings(Path workDir, Path binDir, Optional<String> runAs, String user,
    String database, String probe, Duration timeout) {

  public static final String DEFAULT_PROBE =
      io.pgsidecar.core.config.PgsidecarConfig.Verify.DEFAULT_PROBE_QUERY;

  /** The settings of a configuration: {@code verify.*} and {@code postgres.*}. */
  public static VerifySettings of(io.pgsidecar.core.config.PgsidecarConfig config) {
    var v = config.verify();
    return new VerifySettings(v.workDir(), config.postgres().binDir(), Optional.of(v.runAs()),
        config.postgres().user(), config.postgres().database(), v.probeQuery(), v.timeout());
  }

  Programs programs() {
    return new Programs(binDir, runAs);
  }
}
