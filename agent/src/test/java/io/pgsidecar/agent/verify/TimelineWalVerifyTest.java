package io.pgsidecar.agent.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.verify.WalReport;
import io.pgsidecar.core.verify.WalVerifier;
import io.pgsidecar.core.restore.DataDirectory;
import io.pgsidecar.core.restore.RecoverySettings;
import io.pgsidecar.core.restore.RecoveryTarget;
import io.pgsidecar.core.restore.Restorer;
import io.pgsidecar.testkit.PostgresCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code wal verify} across a real timeline switch: a backup restored and promoted (timeline 2,
 * its {@code 00000002.history} archived beside timeline 1), then a gap made on timeline 2.
 */
class TimelineWalVerifyTest {

  static final Path ARCHIVE = VerifyFixture.sharedDir("pgsidecar-verify-archive-");

  @RegisterExtension
  static final PostgresCluster PG = VerifyFixture.archivingCluster(ARCHIVE);

  @TempDir
  Path tmp;

  private final CodecPipeline zstd = Pipelines.zstd(3);

  @Test
  void aPromotedRestoreIsFollowedOntoTimelineTwoAndAGapThereIsNamed() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    try (Storage storage = new FsStorage(repo)) {
      BackupManifest b = VerifyFixture.whileShipping(PG, ARCHIVE, storage, zstd,
          backups -> backups.create("before promotion"));
      new VerifyFixture.Shipper(ARCHIVE, storage, zstd).shipNew();
      // restore it with the restore engine, fetching WAL from the archive directory, and promote
      Path fetch = VerifyFixture.sharedDir("pgsidecar-verify-bin-").resolve("wal-fetch");
      Files.writeString(fetch, "#!/bin/sh\n[ -f '" + ARCHIVE + "'/\"$2\" ] || exit 1\n"
          + "exec cp '" + ARCHIVE + "'/\"$2\" \"$3\"\n");
      Files.setPosixFilePermissions(fetch, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path pgdata = PostgresCluster.emptyDataDirectory();
      new Restorer(storage, new ArchiveCatalog(storage, VerifyFixture.LAYOUT), zstd).restore(
          new Restorer.Request(new DataDirectory(pgdata), new RecoveryTarget(
              RecoveryTarget.Kind.IMMEDIATE, null, false, RecoveryTarget.Action.PROMOTE, "current"),
              Optional.of(b.id()), new RecoverySettings(fetch.toString(), Optional.empty(),
                  Optional.empty())));
      try (PostgresCluster promoted = PostgresCluster.fromExistingDataDir(pgdata)
          .deleteDataDirOnClose().build().start()) {
        promoted.awaitEndOfRecovery(Duration.ofMinutes(2));
        for (int i = 0; i < 3; i++) {
          promoted.sql("CREATE TABLE t" + i + " AS SELECT 1");
          promoted.awaitArchived(promoted.switchWal(), Duration.ofSeconds(60));
        }
      }
      List<String> shipped = new VerifyFixture.Shipper(ARCHIVE, storage, zstd).shipNew();
      assertTrue(shipped.contains("00000002.history"), shipped.toString());
      WalVerifier wal = new WalVerifier(storage, VerifyFixture.LAYOUT, zstd);
      WalReport r = wal.verify();
      assertTrue(r.ok(), r.problems().toString());
      assertEquals(List.of(1L, 2L), r.timelines().stream().map(WalReport.Timeline::timeline).toList());
      WalReport.Timeline two = r.timelines().get(1);
      assertTrue(two.first().startsWith("00000002"), two.toString());
      assertTrue(two.present() >= 3, two.toString());
      assertEquals(two.last(), r.newestSegment());

      String gone = two.first();
      assertTrue(storage.delete(VerifyFixture.LAYOUT.walKey(gone, ".zst")));
      assertEquals(List.of("timeline 2: " + gone + " missing (1 segment)"), wal.verify().problems());
      io.pgsidecar.core.verify.Scratch.deleteTree(fetch.getParent());
    }
  }
}
