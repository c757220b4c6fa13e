package io.pgsidecar.bench;

import io.pgsidecar.agent.dump.DumpService;
import io.pgsidecar.agent.postgres.PgConnection;
import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.azure.AzureStorage;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;

/**
 * One dump through pgsidecar's DumpService, without the agent: run by bench/dump.sh from this
 * module's classes and {@code bench/target/lib}. Compiled by every {@code verify} of the reactor
 * (./scripts/test.sh), so a moved or changed agent class breaks the build, not the next benchmark.
 * Reads everything from the environment; prints one JSON line with sizes and the wall time.
 */
public class DumpDirect {
  public static void main(String[] args) throws Exception {
    Map<String, String> env = System.getenv();
    long t0 = System.nanoTime();
    var azure = new PgsidecarConfig.Azure(PgsidecarConfig.AzureAuth.CONNECTION_STRING,
        Optional.of(env.get("BENCH_AZURE_CONNECTION_STRING")), Optional.empty(), Optional.empty(),
        Optional.empty(), Optional.empty(), env.get("BENCH_CONTAINER"), 8 << 20, 4, Optional.empty());
    try (var storage = AzureStorage.open(azure)) {
      var pipeline = Pipelines.forConfig(
          new PgsidecarConfig.Compression("zstd", Integer.parseInt(env.getOrDefault("BENCH_ZSTD_LEVEL", "3")),
              Integer.parseInt(env.getOrDefault("BENCH_ZSTD_WORKERS", "0"))),
          new PgsidecarConfig.Encryption(List.of(), Optional.of(Path.of(env.get("BENCH_PASSPHRASE_FILE"))),
              List.of(), Optional.empty()));
      var service = new DumpService(storage, pipeline, new RepositoryLayout("bench", "pg"),
          new PgTool(Path.of(env.get("BENCH_PG_BIN"))),
          new PgConnection(env.get("BENCH_PG_HOST"), Integer.parseInt(env.get("BENCH_PG_PORT")),
              "postgres", "postgres", Optional.empty(), Map.of()),
          new PgsidecarConfig.Dump(List.of(env.get("BENCH_DB")), List.of(), true),
          Executors.newVirtualThreadPerTaskExecutor(), Clock.systemUTC(), Optional::empty);
      DumpManifest m = service.create(List.of(env.get("BENCH_DB")), "bench");
      DumpManifest.Entry db = m.database(env.get("BENCH_DB")).orElseThrow();
      System.out.printf("{\"id\":\"%s\",\"rawSize\":%d,\"storedSize\":%d,\"seconds\":%.2f}%n",
          m.id(), db.rawSize(), db.storedSize(), (System.nanoTime() - t0) / 1e9);
    }
  }
}
