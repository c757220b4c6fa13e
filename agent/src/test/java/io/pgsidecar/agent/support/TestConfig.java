package io.pgsidecar.agent.support;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.Backup;
import io.pgsidecar.core.config.PgsidecarConfig.Compression;
import io.pgsidecar.core.config.PgsidecarConfig.Dump;
import io.pgsidecar.core.config.PgsidecarConfig.Encryption;
import io.pgsidecar.core.config.PgsidecarConfig.Http;
import io.pgsidecar.core.config.PgsidecarConfig.Metrics;
import io.pgsidecar.core.config.PgsidecarConfig.Postgres;
import io.pgsidecar.core.config.PgsidecarConfig.Schedule;
import io.pgsidecar.core.config.PgsidecarConfig.StorageConfig;
import io.pgsidecar.core.config.PgsidecarConfig.Wal;
import io.pgsidecar.testkit.PostgresBin;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;

/** Agent configurations for tests, built directly as records (no loader involved). */
public final class TestConfig {

  private TestConfig() {}

  /** Cluster {@code db1}, prefix {@code prod}, look-ahead 2 x 8, prefetch 3 into {@code work/spool}. */
  public static PgsidecarConfig of(Path pgdata, Path work) {
    return with(pgdata, work, new Wal(2, 8, 3, work.resolve("spool"), 64L * 1024 * 1024),
        Optional.empty(), Duration.ofSeconds(5), 1);
  }

  /** {@code base} with another HTTP section (TCP listener, shutdown grace). */
  public static PgsidecarConfig withHttp(PgsidecarConfig base, Http http) {
    return new PgsidecarConfig(base.cluster(), base.pgdata(), base.socket(), http, base.postgres(),
        base.storage(), base.compression(), base.encryption(), base.wal(), base.backup(),
        base.dump(), base.metrics(), base.schedule());
  }

  public static PgsidecarConfig with(Path pgdata, Path work, Wal wal, Optional<Integer> tcpPort,
      Duration storageTimeout, int retries) {
    return new PgsidecarConfig(
        "db1", pgdata, work.resolve("run/agent.sock"),
        new Http(tcpPort, tcpPort.map(p -> work.resolve("token")), Duration.ofSeconds(5)),
        new Postgres("127.0.0.1", 5432, "postgres", "postgres", Optional.empty(),
            PostgresBin.dir()),
        new StorageConfig(PgsidecarConfig.StorageType.FS, "prod", Optional.of(work.resolve("repo")),
            null, storageTimeout, retries),
        new Compression("zstd", 3, 1),
        new Encryption(List.of(), Optional.empty(), List.of(), Optional.empty()),
        wal,
        new Backup(Duration.ofMinutes(5), Duration.ofSeconds(10)),
        new Dump(List.of(), List.of(), false),
        new Metrics(0, "127.0.0.1"),
        new Schedule(Optional.empty(), Optional.empty(), ZoneOffset.UTC));
  }
}
