package io.pgsidecar.agent.backup;

import static io.pgsidecar.agent.backup.BackupFixtures.LAYOUT;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.testkit.PostgresCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Side by side, same cluster, same run, interleaved: our base backup into a filesystem
 * repository vs {@code pgbackrest backup --type=full} into a posix repository, both zstd level 3
 * with two workers ({@code process-max=2}); plus bare {@code pg_basebackup > /dev/null}, the
 * floor of our approach. Not part of the test suite (the class name does not
 * end in Test); run it with
 * {@code ./mvnw -pl agent -am verify -Dtest=BaseBackupBench -Dsurefire.failIfNoSpecifiedTests=false
 * -Dbench.scale=20}. Results go to the test output.
 */
class BaseBackupBench {

  static final Path ARCHIVE = BackupFixtures.archiveDir();
  static final int SCALE = Integer.getInteger("bench.scale", 20);
  static final int ROUNDS = Integer.getInteger("bench.rounds", 2);

  @RegisterExtension
  static final PostgresCluster PG = BackupFixtures.archivingCluster(ARCHIVE).build();

  @Test
  void oursVersusPgbackrest() throws Exception {
    PG.pgbench("-i", "-s", Integer.toString(SCALE), "-q");
    Path work = Files.createTempDirectory("pgsidecar-bench-");
    try {
      Path conf = pgbackrestConf(work);
      BackupFixtures.chownToPostgres(work);
      pgbackrest(conf, "stanza-create");
      CodecPipeline pipeline = Pipelines.forConfig(new PgsidecarConfig.Compression("zstd", 3, 2),
          null);
      FsStorage storage = new FsStorage(Files.createDirectories(work.resolve("ours")));
      double oursSum = 0;
      double theirsSum = 0;
      long oursStored = 0;
      long theirsStored = 0;
      try (var shipper = new WalShipper(ARCHIVE, storage, LAYOUT, pipeline);
          var service = BackupFixtures.service(PG, storage, pipeline, Duration.ofMinutes(5))) {
        for (int round = 1; round <= ROUNDS; round++) {
          long t0 = System.nanoTime();
          BackupManifest m = service.create("bench");
          double ours = (System.nanoTime() - t0) / 1e9;
          long t1 = System.nanoTime();
          pgbackrest(conf, "backup", "--type=full");
          double theirs = (System.nanoTime() - t1) / 1e9;
          long theirsSize = pgbackrestLastBackupSize(work.resolve("pgbr"));
          long t2 = System.nanoTime();
          PG.runAsPostgres(List.of("sh", "-c", PG.bin("pg_basebackup") + " -D - -Ft -X none "
              + "--checkpoint=fast -h 127.0.0.1 -p " + PG.port() + " > /dev/null")).orThrow();
          double bare = (System.nanoTime() - t2) / 1e9;
          double streamed = Duration.between(m.startTime(), m.stopTime()).toMillis() / 1000.0;
          System.out.printf(Locale.ROOT, "round %d: pgsidecar %.2f s (data stored after %.2f s; "
              + "%d MB raw, %d MB stored), "
              + "pgbackrest %.2f s (%d MB stored), bare pg_basebackup > /dev/null %.2f s%n", round,
              ours, streamed, m.rawSize() / 1_000_000, m.storedSize() / 1_000_000, theirs,
              theirsSize / 1_000_000, bare);
          oursSum += ours;
          theirsSum += theirs;
          oursStored = m.storedSize();
          theirsStored = theirsSize;
        }
      }
      System.out.printf(Locale.ROOT, "pgbench -s %d, %d rounds: wall time ratio pgsidecar/pgbackrest"
          + " = %.2f (target <= 1.0); stored size ratio = %.2f (target within 0.9..1.1)%n", SCALE,
          ROUNDS, oursSum / theirsSum, (double) oursStored / theirsStored);
    } finally {
      BackupFixtures.run(List.of("rm", "-rf", work.toString()), null);
    }
  }

  private static Path pgbackrestConf(Path work) throws Exception {
    for (String d : List.of("pgbr", "log", "lock", "spool")) {
      Files.createDirectories(work.resolve(d));
    }
    Path conf = work.resolve("pgbackrest.conf");
    Files.writeString(conf, """
        [global]
        repo1-type=posix
        repo1-path=%s
        log-path=%s
        lock-path=%s
        spool-path=%s
        log-level-console=warn
        compress-type=zst
        compress-level=3
        process-max=2
        start-fast=y
        archive-check=n
        repo1-retention-full=100

        [bench]
        pg1-path=%s
        pg1-port=%d
        pg1-socket-path=%s
        """.formatted(work.resolve("pgbr"), work.resolve("log"), work.resolve("lock"),
        work.resolve("spool"), PG.pgdata(), PG.port(), PG.socketDir()));
    return conf;
  }

  private static void pgbackrest(Path conf, String... args) {
    var cmd = new java.util.ArrayList<>(List.of("pgbackrest", "--config=" + conf, "--stanza=bench"));
    cmd.addAll(List.of(args));
    PG.runAsPostgres(cmd).orThrow();
  }

  /** Bytes of the newest backup set in the posix repository. */
  private static long pgbackrestLastBackupSize(Path repo) throws Exception {
    Path sets = repo.resolve("backup/bench");
    Path newest;
    try (var s = Files.list(sets)) {
      newest = s.filter(Files::isDirectory).filter(p -> p.getFileName().toString().endsWith("F"))
          .max(java.util.Comparator.naturalOrder()).orElseThrow();
    }
    try (var files = Files.walk(newest)) {
      return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
    }
  }
}
