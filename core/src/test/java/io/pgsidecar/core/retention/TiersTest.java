package io.pgsidecar.core.retention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.retention.RetentionPolicy.Gfs;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import io.pgsidecar.core.retention.RetentionPolicy.Tiers;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.testkit.Azurite;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Storage tiers per GFS class: retention sets the tier of the data of each base backup a class
 * keeps (Azure access tiers, against Azurite); a cool backup still reads; an archived one fails
 * naming the rehydration; a driver without tiers leaves its objects where they are.
 */
class TiersTest {

  private static final RepositoryLayout LAYOUT = new RepositoryLayout("", "db1");
  private static final RetentionPolicy POLICY = new RetentionPolicy(
      new KindPolicy(0, Optional.empty(), new Gfs(1, 1, 0, 0)), KindPolicy.NONE, Duration.ofDays(3),
      new Tiers(Optional.empty(), Optional.of("cool"), Optional.empty(), Optional.empty()));

  @TempDir Path dir;

  /** Three daily backups a week apart: newest, gfs-daily (no tier), gfs-weekly (cool). */
  private static void backups(Storage storage) throws Exception {
    long pos = 2;
    for (String day : List.of("2026-03-01", "2026-03-09", "2026-03-17")) {
      Instant stop = Instant.parse(day + "T02:00:00Z");
      String id = day.replace("-", "") + "T015900Z";
      put(storage, LAYOUT.baseData(id, ".zst"), ("data of " + id).getBytes());
      put(storage, LAYOUT.baseManifest(id), new BackupManifest(1, id, "", "db1", "1", 150010, 1,
          "0/" + Long.toHexString(pos) + "000028", "0/" + Long.toHexString(pos) + "000100",
          stop.minusSeconds(60), stop, 1, 1, "", "", "zstd", "", LAYOUT.baseData(id, ".zst"), "t", null,
          null).toJson());
      pos += 2;
    }
  }

  private static void put(Storage s, String key, byte[] b) throws Exception {
    s.create(key, new ByteArrayInputStream(b), () -> new ObjectMetadata("", b.length, "zstd", ""));
  }

  @Test
  void aGfsClassWithATierMovesTheDataOfTheBackupsItKeeps() throws Exception {
    try (Azurite azurite = Azurite.launch()) {
      String container = azurite.createContainer("tiers");
      Path keyFile = azurite.writeKeyFile(Files.createTempFile(dir, "account", ".key"));
      try (AzureStorage storage = AzureStorage.open(new PgsidecarConfig.Azure(
          PgsidecarConfig.AzureAuth.SHARED_KEY, Optional.empty(), Optional.of(azurite.endpoint()),
          Optional.of(azurite.account()), Optional.of(keyFile), Optional.empty(), container, 4L << 20, 4,
          Optional.empty()))) {
        backups(storage);
        Plan plan = RetentionPlanner.plan(new ListingReader(storage, LAYOUT).read(),
            Instant.parse("2026-03-17T03:00:00Z"), POLICY);
        assertEquals(List.of(new Plan.TierChange("20260301T015900Z", Plan.Rule.GFS_WEEKLY, "cool",
            plan.tiers().get(0).object())), plan.tiers());
        assertEquals("db1/base/20260301T015900Z/data.tar.zst", plan.tiers().get(0).object().key());

        RetentionExecutor.Outcome out = new RetentionExecutor(storage, LAYOUT, (d, o, e) -> {}).apply(plan);
        assertEquals(1, out.tiered());
        try (InputStream in = storage.open("db1/base/20260301T015900Z/data.tar.zst").orElseThrow()) {
          assertArrayEquals("data of 20260301T015900Z".getBytes(), in.readAllBytes(), "a cool object reads as before");
        }

        assertTrue(storage.setTier("db1/base/20260301T015900Z/data.tar.zst", "archive"));
        StorageException e = assertThrows(StorageException.class, () -> {
          try (InputStream in = storage.open("db1/base/20260301T015900Z/data.tar.zst").orElseThrow()) {
            in.readAllBytes();
          }
        });
        assertTrue(e.getMessage().contains(": the object is in the Archive tier (set by"
            + " retention.base-backups.tier.*) and must be rehydrated before it can be read, which"
            + " takes hours: az storage blob set-tier --account-name " + azurite.account()
            + " --container-name tiers --name db1/base/20260301T015900Z/data.tar.zst --tier Hot"
            + " --rehydrate-priority High; or restore from another backup (restore.backup)"), e.getMessage());
      }
    }
  }

  @Test
  void aDriverWithoutTiersLeavesItsObjectsWhereTheyAre() throws Exception {
    FsStorage storage = new FsStorage(Files.createDirectories(dir.resolve("repo")));
    backups(storage);
    Plan plan = RetentionPlanner.plan(new ListingReader(storage, LAYOUT).read(),
        Instant.parse("2026-03-17T03:00:00Z"), POLICY);
    assertEquals(1, plan.tiers().size());
    assertEquals(0, new RetentionExecutor(storage, LAYOUT, (d, o, e) -> {}).apply(plan).tiered());
    assertFalse(storage.setTier("db1/base/20260301T015900Z/data.tar.zst", "cool"));
  }
}
