package io.pgsidecar.agent.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.Sidecar;
import io.pgsidecar.agent.cli.Main;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.agent.support.FakePgdata;
import io.pgsidecar.agent.support.TestConfig;
import io.pgsidecar.agent.support.XorPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.retention.RetentionPolicy;
import io.pgsidecar.core.retention.RetentionPolicy.Gfs;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import io.pgsidecar.core.storage.MemoryStorage;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.vertx.core.VertxOptions;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention in the whole agent ({@link Sidecar}) through the pgsidecar CLI on the admin socket:
 * {@code retention apply --dry-run} prints what goes and why and removes nothing, {@code apply}
 * removes it and the meters say so, {@code backup keep} protects a backup and {@code backup
 * release} gives it back to the rules.
 */
class RetentionFeatureTest {

  @TempDir Path work;
  final MemoryStorage storage = new MemoryStorage();
  RepositoryLayout layout;
  PgsidecarConfig config;
  Sidecar sidecar;
  AgentMetrics metrics;
  Map<String, String> env;

  static final String OLD = "20000101T000000Z";
  static final String NEW = "20000102T000000Z";

  @BeforeEach
  void start() throws Exception {
    PgsidecarConfig base = TestConfig.of(new FakePgdata(work.resolve("pgdata"), 1L).root(), work);
    config = new PgsidecarConfig(base.cluster(), base.pgdata(), base.socket(), base.http(),
        base.postgres(), base.storage(), base.compression(), base.encryption(), base.wal(),
        base.backup(), base.dump(), base.metrics(), base.schedule(), base.restore(),
        new RetentionPolicy(new KindPolicy(1, Optional.empty(), Gfs.NONE), KindPolicy.NONE,
            Duration.ofDays(3)));
    layout = new RepositoryLayout(config.storage().prefix(), config.cluster());
    backup(OLD, "0/3000028", "0/3000100", Instant.parse("2000-01-01T00:01:00Z"));
    backup(NEW, "0/5000028", "0/5000100", Instant.parse("2000-01-02T00:01:00Z"));
    for (int seg = 3; seg <= 6; seg++) {
      put(layout.walKey(String.format("0000000100000000%08X", seg), ".zst"), new byte[100]);
    }
    metrics = new AgentMetrics("db1");
    sidecar = new Sidecar(config, storage, new XorPipeline(), metrics, new VertxOptions());
    sidecar.start();
    env = Map.of("PGSIDECAR_CLUSTER", "db1", "PGSIDECAR_STORAGE_PATH", work.resolve("repo").toString(),
        "PGSIDECAR_SOCKET", config.socket().toString(),
        "PGSIDECAR_HTTP_ADMIN_SOCKET", config.adminSocket().toString());
  }

  @AfterEach
  void stop() {
    sidecar.close();
  }

  private void backup(String id, String start, String stop, Instant stopTime) throws IOException {
    put(layout.baseData(id, ".zst"), new byte[1000]);
    BackupManifest m = new BackupManifest(1, id, "", "db1", "1", 150010, 1, start, stop,
        stopTime.minusSeconds(60), stopTime, 1000, 1000, "", "", "zstd", "", layout.baseData(id, ".zst"),
        "test", null, null);
    put(layout.baseManifest(id), m.toJson());
  }

  private void put(String key, byte[] b) throws IOException {
    storage.create(key, new ByteArrayInputStream(b), () -> new ObjectMetadata("", b.length, "zstd", ""));
  }

  private String[] run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, env, new PrintWriter(out), new PrintWriter(err));
    return new String[] {Integer.toString(code), out.toString(), err.toString()};
  }

  @Test
  void dryRunPrintsWhatGoesAndWhyApplyRemovesItAndCountsIt() throws IOException {
    long oldManifest = storage.stat(layout.baseManifest(OLD)).orElseThrow().storedSize();
    long newManifest = storage.stat(layout.baseManifest(NEW)).orElseThrow().storedSize();
    String[] dry = run("retention", "apply", "--dry-run");
    assertEquals("0", dry[0], dry[2]);
    String text = dry[1].replaceAll("at \\S+Z:", "at NOW:");
    assertEquals("""
        retention (dry run, nothing removed) at NOW: base backups keep-newest 1; dumps no policy; orphan-age 3d
        would remove base-backup 20000101T000000Z [expired] kept by no rule (keep-newest 1); ended 2000-01-01T00:01:00Z
            prod/db1/base/20000101T000000Z/backup.json (%s)
            prod/db1/base/20000101T000000Z/data.tar.zst (1000 B)
        would remove wal 000000010000000000000003 [wal-unneeded] before segment 000000010000000000000005 of base backup 20000102T000000Z, the oldest kept for point-in-time recovery that reaches timeline 1
        would remove wal 000000010000000000000004 [wal-unneeded] before segment 000000010000000000000005 of base backup 20000102T000000Z, the oldest kept for point-in-time recovery that reaches timeline 1
        keep base-backup 20000102T000000Z [newest] the newest base backup is always kept
        keep wal: 2 [wal-pitr]
        would remove 4 objects (%s)
        stored base backups: %s in 4 objects before, %s in 2 objects after (would be)
        stored WAL: 400 B in 4 objects before, 200 B in 2 objects after (would be)
        """.formatted(io.pgsidecar.agent.cli.support.CliText.size(oldManifest),
            io.pgsidecar.agent.cli.support.CliText.size(1000 + 200 + oldManifest),
            io.pgsidecar.agent.cli.support.CliText.size(2000 + oldManifest + newManifest),
            io.pgsidecar.agent.cli.support.CliText.size(1000 + newManifest)),
        text);
    assertTrue(storage.stat(layout.baseManifest(OLD)).isPresent(), "a dry run removes nothing");

    String[] json = run("retention", "apply", "--dry-run", "--output", "json");
    assertEquals("0", json[0], json[2]);
    assertTrue(json[1].startsWith("{\"dryRun\":true,\"trigger\":\"request\",\"now\":"), json[1]);
    String storedBefore = "{\"baseBackups\":{\"objects\":4,\"bytes\":" + (2000 + oldManifest + newManifest)
        + "},\"dumps\":{\"objects\":0,\"bytes\":0},\"wal\":{\"objects\":4,\"bytes\":400},"
        + "\"debris\":{\"objects\":0,\"bytes\":0}}";
    String storedAfter = "{\"baseBackups\":{\"objects\":2,\"bytes\":" + (1000 + newManifest)
        + "},\"dumps\":{\"objects\":0,\"bytes\":0},\"wal\":{\"objects\":2,\"bytes\":200},"
        + "\"debris\":{\"objects\":0,\"bytes\":0}}";
    assertTrue(json[1].contains("\"stored\":{\"before\":" + storedBefore + ",\"after\":" + storedAfter
        + "}"), json[1]);

    String[] applied = run("retention", "apply", "--output", "json");
    assertEquals("0", applied[0], applied[2]);
    assertTrue(applied[1].contains("\"stored\":{\"before\":" + storedBefore + ",\"after\":"
        + storedAfter + "}"), "what was deleted is no longer counted: " + applied[1]);
    assertTrue(applied[1].contains("{\"kind\":\"base-backup\",\"id\":\"20000101T000000Z\",\"rule\":\"expired\""), applied[1]);
    assertFalse(storage.stat(layout.baseManifest(OLD)).isPresent());
    assertFalse(storage.stat(layout.baseData(OLD, ".zst")).isPresent());
    assertFalse(storage.stat(layout.walKey("000000010000000000000004", ".zst")).isPresent());
    assertTrue(storage.stat(layout.walKey("000000010000000000000005", ".zst")).isPresent());

    String scrape = metrics.scrape();
    assertTrue(scrape.contains("pgsidecar_retention_removed_objects_total{cluster=\"db1\",kind=\"base-backup\"} 2.0"), scrape);
    assertTrue(scrape.contains("pgsidecar_retention_removed_objects_total{cluster=\"db1\",kind=\"wal\"} 2.0"), scrape);
    assertTrue(scrape.contains("pgsidecar_retention_runs_total{cluster=\"db1\",result=\"success\"} 1.0"), scrape);
    assertTrue(scrape.contains("pgsidecar_retention_kept{cluster=\"db1\",kind=\"base-backup\",rule=\"newest\"} 1.0"), scrape);
    assertTrue(scrape.contains("pgsidecar_retention_consecutive_failures{cluster=\"db1\"} 0.0"), scrape);
    assertTrue(scrape.contains("pgsidecar_retention_enabled{cluster=\"db1\"} 1.0"), scrape);

    String[] again = run("retention", "apply");
    assertEquals("0", again[0], again[2]);
    assertTrue(again[1].contains("stored base backups: " + io.pgsidecar.agent.cli.support.CliText.size(
        1000 + newManifest) + " in 2 objects before, " + io.pgsidecar.agent.cli.support.CliText.size(
        1000 + newManifest) + " in 2 objects after\n"), again[1]);
  }

  /**
   * A new complete base backup, seen when the repository is read after a job, starts a run; the
   * start-up read and a read without a new backup do not.
   */
  @Test
  void aNewBaseBackupSeenAfterAJobStartsARun() throws Exception {
    AgentMetrics own = new AgentMetrics("db1");
    try (io.pgsidecar.agent.feature.Feature.Running running = new RetentionFeature().open(
        new io.pgsidecar.agent.feature.FeatureContext(config, storage, new XorPipeline(), own,
            new io.pgsidecar.agent.feature.FeatureContext.Events() {},
            new io.pgsidecar.agent.feature.FeatureContext.RunningJobs()))) {
      running.readRepository(true);
      running.readRepository(false);
      // no run was started (applyLater is not even called): the status has no run, storage is whole
      assertEquals(Map.of("enabled", true), running.status().get("retention"));
      assertTrue(storage.stat(layout.baseManifest(OLD)).isPresent(), "no new backup, no run");

      backup("20000103T000000Z", "0/6000028", "0/6000100", Instant.parse("2000-01-03T00:01:00Z"));
      running.readRepository(false);
      io.pgsidecar.testkit.Waits.until(Duration.ofSeconds(60), Duration.ofMillis(50),
          () -> storage.stat(layout.baseManifest(NEW)).isEmpty());
      assertFalse(storage.stat(layout.baseManifest(OLD)).isPresent());
      assertTrue(storage.stat(layout.baseManifest("20000103T000000Z")).isPresent());
      assertEquals("after base backup 20000103T000000Z",
          ((Map<?, ?>) running.status().get("retention")).get("trigger"));
    } finally {
      own.close();
    }
  }

  @Test
  void aPermanentBackupStaysUntilReleasedAndCannotBeDeleted() {
    String[] kept = run("backup", "keep", OLD, "--note", "before the upgrade");
    assertEquals("0", kept[0], kept[2]);
    assertEquals("base backup 20000101T000000Z is now permanent: retention never removes it\n", kept[1]);
    assertEquals("base backup 20000101T000000Z was permanent already\n", run("backup", "keep", OLD)[1]);

    String[] dry = run("retention", "apply", "--dry-run");
    assertTrue(dry[1].contains("keep base-backup 20000101T000000Z [permanent] marked permanent (keep.json)"), dry[1]);
    assertFalse(dry[1].contains("would remove base-backup"), dry[1]);

    String[] delete = run("backup", "delete", OLD);
    assertEquals("6", delete[0], delete[1]);
    assertTrue(delete[2].contains("base backup 20000101T000000Z is permanent (marked with pgsidecar backup keep);"
        + " release it first with pgsidecar backup release 20000101T000000Z"), delete[2]);

    String[] released = run("backup", "release", OLD);
    assertEquals("base backup 20000101T000000Z released: retention treats it like any other from its next run\n",
        released[1]);
    assertTrue(run("retention", "apply", "--dry-run")[1].contains("would remove base-backup 20000101T000000Z"));

    String[] missing = run("backup", "keep", "20990101T000000Z");
    assertEquals("4", missing[0]);
    assertTrue(missing[2].startsWith("pgsidecar backup: no complete base backup 20990101T000000Z in "), missing[2]);
    assertTrue(missing[2].strip().endsWith("pgsidecar backup list shows the ids (HTTP 404)"), missing[2]);
  }
}
