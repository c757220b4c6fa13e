package io.pgsidecar.agent.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.retention.ListingReader;
import io.pgsidecar.core.retention.Plan;
import io.pgsidecar.core.retention.RetentionPlanner;
import io.pgsidecar.core.retention.RetentionPolicy;
import io.pgsidecar.core.retention.RetentionPolicy.Gfs;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.wal.Lsn;
import io.pgsidecar.testkit.PostgresCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real cluster initdb'd with {@code --wal-segsize=64}: {@code wal verify}, {@code backup verify
 * --restore}, retention's WAL expiry and the recoverable window use the archive's segment size
 * (read from the backups' {@code backup.json}: LSNs and segment names agree on one size only),
 * not 16 MiB. With 16 MiB arithmetic a 64 MiB segment {@code ...0001} (LSN 0/4000000) would be
 * taken for the one before LSN 0/1000000: gaps after every segment, and retention removing the
 * WAL a backup needs.
 */
class WalSegmentSize64Test {

  static final long SIZE = 64L << 20;
  static final Path ARCHIVE = VerifyFixture.sharedDir("pgsidecar-seg64-archive-");
  static final Path WORK = VerifyFixture.sharedDir("pgsidecar-seg64-work-");

  @RegisterExtension
  static final PostgresCluster PG = VerifyFixture.archivingCluster(ARCHIVE, 64);

  @TempDir Path tmp;

  private final CodecPipeline zstd = Pipelines.zstd(3);

  private VerifyFixture.Run run(Path repo, String... args) {
    return VerifyFixture.cli(PG, repo, WORK, args);
  }

  @Test
  void verifyRetentionAndTheWindowUseTheArchivesSegmentSize() throws Exception {
    assertEquals(SIZE, PG.sqlLong("SELECT setting::bigint FROM pg_settings"
        + " WHERE name = 'wal_segment_size'"), "the cluster has 64 MiB segments");
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    BackupManifest first;
    BackupManifest second;
    try (Storage storage = new FsStorage(repo)) {
      List<BackupManifest> both = VerifyFixture.whileShipping(PG, ARCHIVE, storage, zstd, s -> {
        PG.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
        BackupManifest a = s.create("first");
        PG.awaitArchived(PG.switchWal(), Duration.ofSeconds(120));
        PG.sql("INSERT INTO t SELECT g FROM generate_series(1001, 2000) g");
        BackupManifest b = s.create("second");
        PG.awaitArchived(PG.switchWal(), Duration.ofSeconds(120));
        return List.of(a, b);
      });
      new VerifyFixture.Shipper(ARCHIVE, storage, zstd).shipNew();
      first = both.get(0);
      second = both.get(1);
    }
    long startSeg = Lsn.parse(second.startLsn()).value() / SIZE;
    assertTrue(startSeg > 0, "the second backup starts after segment 0: " + second.startLsn());
    assertEquals(String.format("%08X%08X%08X", second.timeline(), startSeg / 64, startSeg % 64),
        second.walStartSegment(), "PostgreSQL named the segment with 64 MiB arithmetic");

    VerifyFixture.Run wal = run(repo, "wal", "verify", "--output", "json");
    System.out.println("$ pgsidecar wal verify --output json\n" + wal.out() + wal.err());
    assertEquals(0, wal.code(), wal.out() + wal.err());
    JsonNode w = new ObjectMapper().readTree(wal.out());
    assertEquals(SIZE, w.path("segmentSize").asLong());
    assertTrue(w.path("segmentSizeSource").asText().startsWith("backup.json of "), wal.out());
    assertEquals(0, w.path("missingSegments").asInt(), wal.out());

    VerifyFixture.Run verify = run(repo, "backup", "verify", second.id(), "--restore", "--progress", "never");
    System.out.println("$ pgsidecar backup verify " + second.id() + " --restore\n" + verify.out()
        + verify.err());
    assertEquals(0, verify.code(), verify.out() + verify.err());
    assertTrue(verify.out().contains("\n  restore    started to consistency on a private socket;"
        + " probe: "), verify.out());

    try (Storage storage = new FsStorage(repo)) {
      var layout = VerifyFixture.LAYOUT;
      Plan plan = RetentionPlanner.plan(new ListingReader(storage, layout).read(), Instant.now(),
          new RetentionPolicy(new KindPolicy(1, Optional.empty(), Gfs.NONE), KindPolicy.NONE,
              Duration.ofDays(3)));
      List<String> removedWal = plan.removed().stream()
          .filter(d -> d.subject() == Plan.Subject.WAL).map(Plan.Decision::id).toList();
      System.out.println("retention removes WAL " + removedWal + " and base backups "
          + plan.removed().stream().filter(d -> d.subject() == Plan.Subject.BASE_BACKUP)
              .map(Plan.Decision::id).toList());
      assertTrue(plan.removed().stream().anyMatch(d -> d.id().equals(first.id())),
          "keep-newest 1 removes the first backup");
      for (String name : removedWal) {
        assertTrue(name.substring(0, 24).compareTo(second.walStartSegment()) < 0,
            "only WAL before the kept backup's start segment " + second.walStartSegment()
                + " goes, not " + name + ": " + removedWal);
      }
      assertTrue(plan.kept().stream().anyMatch(d -> d.subject() == Plan.Subject.WAL
          && d.id().equals(second.walStartSegment())), "the kept backup's start segment stays");

      ArchiveCatalog catalog = new ArchiveCatalog(storage, layout);
      ArchiveCatalog.Window window = catalog.window().orElseThrow();
      List<ArchiveCatalog.WalEntry> segments = catalog.segments();
      String last = window.lastSegment();
      long lastSeg = Long.parseLong(last.substring(8, 16), 16) * 64
          + Long.parseLong(last.substring(16, 24), 16);
      assertEquals(new Lsn((lastSeg + 1) * SIZE), window.lastLsn(),
          "the window ends where the newest of " + segments.size() + " segments ends");
    }
  }
}
