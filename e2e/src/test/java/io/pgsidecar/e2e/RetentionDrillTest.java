package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.retention.RetentionCommand;
import io.pgsidecar.agent.retention.RetentionMetrics;
import io.pgsidecar.agent.retention.RetentionReport;
import io.pgsidecar.agent.retention.RetentionService;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.retention.Plan;
import io.pgsidecar.core.retention.RetentionPolicy;
import io.pgsidecar.core.retention.RetentionPolicy.Gfs;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.core.restore.RestoreJob;
import io.pgsidecar.core.restore.Restorer;
import io.pgsidecar.core.storage.s3.S3Storage;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.S3Server;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Retention on a real cluster's archive, then a restore to the oldest moment the policy
 * promises. Four base backups with 100 rows committed after each (WAL archived through the
 * agent); the policy keeps the newest 2 and a window that begins right after the second
 * backup's rows were committed. Retention must remove exactly the first backup and the WAL before
 * the second one's start segment, keep the rest, plan nothing more when run again, and a
 * point-in-time restore to the window's first moment must hold exactly those 200 rows. Once on
 * Azurite (zstd + OpenPGP), once on S3 (S3Mock, zstd), once on the filesystem repository (zstd).
 */
class RetentionDrillTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private Path dir;
  private EncryptedAzure azure;
  private S3Server s3;
  private Pod pod;

  @BeforeEach
  void dir() throws Exception {
    dir = Files.createTempDirectory("pgsidecar-e2e-retention-");
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (pod != null) {
        pod.close();
      }
    } finally {
      if (azure != null) {
        azure.close();
      }
      if (s3 != null) {
        s3.close();
      }
      Pod.deleteTree(dir);
    }
  }

  @Test
  void onAzuriteRetentionKeepsWhatThePolicyPromisesAndTheOldestPromisedMomentRestores() throws Exception {
    azure = EncryptedAzure.launch();
    drill(azure.newContainer(dir), EncryptedAzure.pipeline(dir));
  }

  @Test
  void onS3TheSame() throws Exception {
    s3 = S3Server.s3Mock();
    Path id = S3Server.writeSecret(dir.resolve("s3-id"), S3Server.ACCESS_KEY);
    Path secret = S3Server.writeSecret(dir.resolve("s3-secret"), S3Server.SECRET_KEY);
    PgsidecarConfig.S3 cfg = new PgsidecarConfig.S3(s3.bucket(), Optional.of(s3.endpoint()),
        Optional.of(S3Server.REGION), true, PgsidecarConfig.S3Auth.STATIC, Optional.of(id),
        Optional.of(secret), PgsidecarConfig.S3Encryption.NONE, Optional.empty(), Optional.empty(),
        5L << 20, 2);
    drill(S3Storage.open(cfg, "", Duration.ofSeconds(30), RetryPolicy.defaults()),
        Pipelines.forConfig(new PgsidecarConfig.Compression("zstd", 1, 0),
            new PgsidecarConfig.Encryption(List.of(), Optional.empty(), List.of(), Optional.empty())));
  }

  @Test
  void onTheFilesystemRepositoryTheSame() throws Exception {
    drill(new FsStorage(Files.createDirectories(dir.resolve("repo"))),
        Pipelines.forConfig(new PgsidecarConfig.Compression("zstd", 1, 0),
            new PgsidecarConfig.Encryption(List.of(), Optional.empty(), List.of(), Optional.empty())));
  }

  private void drill(Storage storage, CodecPipeline pipeline) throws Exception {
    pod = new Pod(dir.resolve("pod"), "db1", storage, pipeline).startNew();
    PostgresCluster pg = pod.server;
    pg.sql("CREATE TABLE drill (id int PRIMARY KEY)");
    BackupManifest[] backups = new BackupManifest[4];
    String windowStart = null;
    for (int i = 0; i < 4; i++) {
      backups[i] = pod.backup("retention-" + i);
      pg.sql("INSERT INTO drill SELECT generate_series(" + (100 * i + 1) + ", " + (100 * i + 100) + ")");
      if (i == 1) {
        windowStart = pod.now(); // after rows 1..200, before 201..300
      }
      pod.archiveCurrentSegment();
    }
    Instant now = Instant.now();
    RetentionPolicy policy = new RetentionPolicy(new KindPolicy(2,
        Optional.of(Duration.between(Instant.parse(windowStart), now)), Gfs.NONE), KindPolicy.NONE,
        Duration.ofDays(3));
    RetentionService service = new RetentionService(storage, pod.layout(), policy, pipeline,
        Clock.fixed(now, ZoneOffset.UTC), new RetentionMetrics(new SimpleMeterRegistry()),
        new FeatureContext.Events() {});

    RetentionService.Run dry = service.apply(true, "request");
    StringWriter text = new StringWriter();
    RetentionCommand.print(JSON.valueToTree(RetentionReport.of(dry)), new PrintWriter(text, true));
    System.out.println("RetentionDrillTest (" + storage.describe() + "): pgsidecar retention apply --dry-run\n" + text);
    List<String> before = keys(storage);

    RetentionService.Run run = service.apply(false, "request");
    assertEquals(dry.plan().removed(), run.plan().removed(), "a dry run shows what a run does");
    List<String> after = keys(storage);

    String firstKept = backups[1].walStartSegment();
    for (String key : before) {
      boolean removed = !after.contains(key);
      String file = key.substring(key.lastIndexOf('/') + 1);
      if (key.contains("/base/" + backups[0].id() + "/")) {
        assertTrue(removed, "the first backup is kept by no rule: " + key);
      } else if (key.contains("/wal/") && file.length() >= 24 && !file.contains("history")) {
        assertEquals(file.substring(0, 24).compareTo(firstKept) < 0, removed,
            key + ": WAL before " + firstKept + " (start of " + backups[1].id() + ") goes, the rest stays");
      } else {
        assertFalse(removed, "kept: " + key);
      }
    }
    assertTrue(before.size() - after.size() >= 3, "removed " + (before.size() - after.size()));
    Plan again = service.apply(true, "request").plan();
    assertEquals(List.of(), again.removed(), "planning again removes nothing");

    Path target = PostgresCluster.emptyDataDirectory();
    Restorer.Result result = RestoreJob.run(pod.config, pod.restoreToTime(windowStart), target,
        storage, pipeline);
    assertEquals(backups[1].id(), result.backup().id(), "the window's anchor backup restores its first moment");
    try (PostgresCluster restored = PostgresCluster.fromExistingDataDir(target)
        .setting("archive_mode", "off").deleteDataDirOnClose().build()) {
      restored.start();
      Pod.awaitPromoted(restored, Duration.ofSeconds(120));
      assertEquals(200, restored.sqlLong("SELECT count(*) FROM drill"));
      assertEquals(200, restored.sqlLong("SELECT max(id) FROM drill"));
    }
  }

  private static List<String> keys(Storage storage) throws Exception {
    try (Stream<ObjectInfo> s = storage.list("")) {
      return s.map(ObjectInfo::key).toList();
    }
  }
}
