package io.pgsidecar.core.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.retention.Plan.Decision;
import io.pgsidecar.core.retention.Plan.Subject;
import io.pgsidecar.core.retention.RetentionPolicy.Gfs;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.RetryPolicy;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.storage.s3.S3Storage;
import io.pgsidecar.testkit.S3Server;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What interrupted uploads leave behind (the filesystem driver's temp files, the S3 driver's
 * staging objects), hidden from listings: retention lists it through
 * {@link Storage#listDebris}, removes it once older than retention.orphan-age, and never touches
 * anything else through that door.
 */
class DebrisTest {

  private static final RepositoryLayout LAYOUT = new RepositoryLayout("", "db1");
  private static final RetentionPolicy POLICY = new RetentionPolicy(
      new KindPolicy(1, Optional.empty(), Gfs.NONE), KindPolicy.NONE, Duration.ofDays(3));

  @TempDir Path dir;

  @Test
  void oldTempFilesOfTheFilesystemDriverGoRecentOnesAndObjectsStay() throws Exception {
    FsStorage storage = new FsStorage(Files.createDirectories(dir.resolve("repo")));
    String seg = LAYOUT.walKey("000000010000000000000003", ".zst");
    storage.create(seg, new ByteArrayInputStream(new byte[10]), () -> new ObjectMetadata("", 10, "zstd", ""));
    Path walDir = storage.root().resolve(seg).getParent();
    Path old = Files.write(walDir.resolve(".000000010000000000000004.zst.0f8fad5b-d9cb-469f-a165-70867728950e.tmp"), new byte[7]);
    Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofDays(4))));
    Path recent = Files.write(walDir.resolve(".000000010000000000000005.zst.7c9e6679-7425-40de-944b-e07fc1f90ae7.tmp"), new byte[7]);
    Files.writeString(walDir.resolve(".not-ours"), "x");

    Plan plan = RetentionPlanner.plan(new ListingReader(storage, LAYOUT).read(), Instant.now(), POLICY);
    List<Decision> debris = plan.removed().stream().filter(d -> d.subject() == Subject.DEBRIS).toList();
    assertEquals(List.of("db1/wal/0000000100000000/.000000010000000000000004.zst.0f8fad5b-d9cb-469f-a165-70867728950e.tmp"),
        debris.stream().map(Decision::id).toList());
    assertTrue(debris.get(0).reason().startsWith("left by an interrupted upload, last written "), debris.get(0).reason());
    assertEquals(1, plan.kept().stream().filter(d -> d.subject() == Subject.DEBRIS).count());

    new RetentionExecutor(storage, LAYOUT, (d, o, e) -> {}).apply(plan);
    assertFalse(Files.exists(old));
    assertTrue(Files.exists(recent));
    assertTrue(Files.exists(walDir.resolve(".not-ours")));
    assertTrue(storage.stat(seg).isPresent());

    assertThrows(IllegalArgumentException.class, () -> storage.deleteDebris(seg));
    assertThrows(IllegalArgumentException.class, () -> storage.deleteDebris("db1/wal/0000000100000000/.not-ours"));
    Path outside = Files.createDirectories(dir.resolve("outside"));
    Path planted = Files.write(outside.resolve(".x.0f8fad5b-d9cb-469f-a165-70867728950e.tmp"), new byte[1]);
    Files.createSymbolicLink(storage.root().resolve("db1/link"), outside);
    try (Stream<ObjectInfo> s = storage.listDebris("")) {
      assertTrue(s.noneMatch(o -> o.key().startsWith("db1/link/")), "links are not followed");
    }
    StorageException e = assertThrows(StorageException.class,
        () -> storage.deleteDebris("db1/link/.x.0f8fad5b-d9cb-469f-a165-70867728950e.tmp"));
    assertTrue(e.getMessage().startsWith("unsafe repository: "), e.getMessage());
    assertTrue(Files.exists(planted));
  }

  @Test
  void stagingObjectsOfTheS3DriverAreListedAndDeletedOthersAreRefused() throws Exception {
    try (S3Server server = S3Server.s3Mock()) {
      String bucket = server.createBucket("debris");
      Path id = S3Server.writeSecret(dir.resolve("access-key-id"), S3Server.ACCESS_KEY + "\n");
      Path secret = S3Server.writeSecret(dir.resolve("secret-access-key"), S3Server.SECRET_KEY);
      try (S3Storage storage = S3Storage.open(new PgsidecarConfig.S3(bucket, Optional.of(server.endpoint()),
          Optional.of(S3Server.REGION), true, PgsidecarConfig.S3Auth.STATIC, Optional.of(id), Optional.of(secret),
          PgsidecarConfig.S3Encryption.NONE, Optional.empty(), Optional.empty(), 5L << 20, 4), "",
          Duration.ofSeconds(30), RetryPolicy.defaults())) {
        String seg = LAYOUT.walKey("000000010000000000000003", ".zst");
        storage.create(seg, new ByteArrayInputStream(new byte[10]), () -> new ObjectMetadata("", 10, "zstd", ""));
        String staging = "db1/base/20260101T000000Z/.pgsidecar-upload-0f8fad5b";
        // what a killed upload leaves: S3Mock takes an unsigned path-style PUT
        HttpResponse<String> put = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create(server.endpoint() + "/" + bucket + "/" + staging))
            .PUT(HttpRequest.BodyPublishers.ofString("partial")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, put.statusCode(), put.body());
        try (Stream<ObjectInfo> listed = storage.list("db1/")) {
          assertEquals(List.of(seg), listed.map(ObjectInfo::key).toList(), "hidden from listings");
        }
        List<ObjectInfo> debris;
        try (Stream<ObjectInfo> s = storage.listDebris(LAYOUT.root())) {
          debris = s.toList();
        }
        assertEquals(List.of(staging), debris.stream().map(ObjectInfo::key).toList());

        Plan later = RetentionPlanner.plan(new ListingReader(storage, LAYOUT).read(),
            Instant.now().plus(Duration.ofDays(4)), POLICY);
        assertEquals(List.of(staging), later.removed().stream().filter(d -> d.subject() == Subject.DEBRIS)
            .map(Decision::id).toList());
        new RetentionExecutor(storage, LAYOUT, (d, o, e) -> {}).apply(later);
        try (Stream<ObjectInfo> s = storage.listDebris(LAYOUT.root())) {
          assertEquals(0, s.count());
        }
        assertTrue(storage.stat(seg).isPresent());
        assertThrows(IllegalArgumentException.class, () -> storage.deleteDebris(seg));
      }
    }
  }
}
