package io.pgsidecar.agent.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.agent.cli.Main;
import io.pgsidecar.agent.feature.Feature;
import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.metrics.AgentMetrics;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.ConfigLoader;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A drill run outside the agent ({@code pgsidecar drill}, what the chart's CronJob runs in the
 * postgres image) reaches the agent's meters and status through its record in storage; an agent
 * told to schedule drills it cannot run refuses to start.
 */
class DrillJobTest {

  static final Path ARCHIVE = VerifyFixture.sharedDir("pgsidecar-verify-archive-");
  static final Path WORK = VerifyFixture.sharedDir("pgsidecar-verify-work-");

  @RegisterExtension
  static final PostgresCluster PG = VerifyFixture.archivingCluster(ARCHIVE);

  @TempDir
  Path tmp;

  private final CodecPipeline zstd = Pipelines.zstd(3);

  record Run(int code, String out, String err) {}

  private Map<String, String> env(Path repo, Path binDir) {
    Map<String, String> env = new HashMap<>(Map.of("PGSIDECAR_CLUSTER", "db1",
        "PGSIDECAR_STORAGE_PATH", repo.toString(), "PGSIDECAR_STORAGE_PREFIX", "test",
        "PGSIDECAR_POSTGRES_BIN_DIR", binDir.toString(), "PGSIDECAR_VERIFY_WORK_DIR",
        WORK.toString(), "PGSIDECAR_POSTGRES_USER", "postgres"));
    return env;
  }

  private Run drill(Map<String, String> env, String... more) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] args = java.util.stream.Stream.concat(java.util.stream.Stream.of("drill"),
        java.util.Arrays.stream(more)).toArray(String[]::new);
    int code = Main.execute(args, env, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  private static List<String> records(Storage storage) throws Exception {
    try (var s = storage.list("test/db1/drills/")) {
      return s.map(ObjectInfo::key).toList();
    }
  }

  @Test
  void aDrillRunByTheJobIsRecordedAndTheAgentShowsIt() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    try (Storage storage = new FsStorage(repo); AgentMetrics metrics = new AgentMetrics("db1")) {
      BackupManifest newest = VerifyFixture.whileShipping(PG, ARCHIVE, storage, zstd, backups -> {
        backups.create("older");
        PG.sql("CREATE TABLE job_drill AS SELECT g FROM generate_series(1, 42) g");
        BackupManifest m = backups.create("newest");
        PG.awaitArchived(PG.switchWal(), Duration.ofSeconds(60));
        return m;
      });
      new VerifyFixture.Shipper(ARCHIVE, storage, zstd).shipNew();

      // the agent (no schedule.verify) before any drill: nothing, not scheduled
      Map<String, String> agentEnv = env(repo, PG.binDir());
      PgsidecarConfig config = ConfigLoader.load(Optional.empty(), agentEnv);
      try (Feature.Running agent = new VerifyFeature().open(new FeatureContext(config, storage,
          zstd, metrics, new FeatureContext.Events() {}, new FeatureContext.RunningJobs()))) {
        agent.readRepository(true);
        agent.housekeeping();
        String before = metrics.scrape();
        assertTrue(before.contains(
            "pgsidecar_restore_drill_last_success_timestamp_seconds{cluster=\"db1\"} 0.0"), before);
        assertTrue(before.contains("pgsidecar_restore_drill_scheduled{cluster=\"db1\"} 0.0"),
            before);

        // the Job's drill, in its own process in the pod: here the CLI in this JVM
        Map<String, String> jobEnv = env(repo, PG.binDir());
        jobEnv.put("PGSIDECAR_VERIFY_PROBE_QUERY", "SELECT count(*) FROM job_drill");
        Run ok = drill(jobEnv);
        System.out.println("$ pgsidecar drill\n" + ok.out() + ok.err());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().startsWith("restore drill of backup " + newest.id() + " succeeded in "),
            ok.out());
        assertTrue(ok.out().contains("; probe: 42; recoverable window "), ok.out());
        List<String> keys = records(storage);
        assertEquals(1, keys.size(), String.valueOf(keys));
        assertTrue(ok.out().contains("recorded: " + keys.get(0) + "\n"), ok.out());
        assertTrue(keys.get(0).matches("test/db1/drills/\\d{8}-\\d{6}-[0-9a-f]{8}\\.json"),
            keys.get(0));
        JsonNode rec = new ObjectMapper().readTree(storage.open(keys.get(0)).orElseThrow());
        assertEquals("success", rec.path("result").asText());
        assertEquals("job", rec.path("by").asText());
        assertEquals(newest.id(), rec.path("backup").asText());
        assertEquals("42", rec.path("probe").asText());

        // the agent's refresh takes it over: meters, scheduled, status
        agent.readRepository(false);
        agent.housekeeping();
        String after = metrics.scrape();
        assertFalse(after.contains(
            "pgsidecar_restore_drill_last_success_timestamp_seconds{cluster=\"db1\"} 0.0"), after);
        assertTrue(after.contains("pgsidecar_restore_drill_scheduled{cluster=\"db1\"} 1.0"), after);
        assertTrue(after.contains(
            "pgsidecar_restore_drill_runs_total{cluster=\"db1\",result=\"ok\"} 1.0"), after);
        @SuppressWarnings("unchecked")
        Map<String, Object> drillStatus = (Map<String, Object>) agent.status().get("restoreDrill");
        @SuppressWarnings("unchecked")
        Map<String, Object> last = (Map<String, Object>) drillStatus.get("last");
        assertEquals("success", last.get("result"));
        assertEquals(keys.get(0), last.get("record"));
        assertEquals("job", last.get("by"));
        // read again: the same record is not counted twice
        agent.readRepository(false);
        assertTrue(metrics.scrape().contains(
            "pgsidecar_restore_drill_runs_total{cluster=\"db1\",result=\"ok\"} 1.0"));

        // a second drill that fails (a probe that cannot run): a new record, nothing overwritten,
        // exit 5 (verification failed), and the agent's failure meter
        jobEnv.put("PGSIDECAR_VERIFY_PROBE_QUERY", "SELECT count(*) FROM no_such_table");
        Run bad = drill(jobEnv, "--output", "json");
        assertEquals(5, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().startsWith("pgsidecar drill: the probe query 'SELECT count(*) FROM"
            + " no_such_table' failed on the restored backup: ERROR:  relation \"no_such_table\""
            + " does not exist"), bad.err());
        List<String> two = records(storage);
        assertEquals(2, two.size(), String.valueOf(two));
        assertEquals(keys.get(0), two.get(0));
        JsonNode failed = new ObjectMapper().readTree(bad.out());
        assertEquals("failure", failed.path("result").asText());
        assertEquals(two.get(1), failed.path("record").asText());
        agent.readRepository(false);
        String failedScrape = metrics.scrape();
        assertTrue(failedScrape.contains(
            "pgsidecar_restore_drill_runs_total{cluster=\"db1\",result=\"error\"} 1.0"), failedScrape);
        assertFalse(failedScrape.contains(
            "pgsidecar_restore_drill_last_failure_timestamp_seconds{cluster=\"db1\"} 0.0"), failedScrape);
      }
      try (var left = Files.list(WORK)) {
        assertEquals(0, left.count(), "scratch directories left behind");
      }
    }
  }

  @Test
  void withoutTheServerProgramsTheDrillAndTheScheduleAreRefusedInOneLine() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    // the pgsidecar image's programs: PostgreSQL's client programs only
    Path clientOnly = Files.createDirectories(tmp.resolve("client-bin"));
    for (String p : List.of("pg_basebackup", "pg_dump", "pg_dumpall", "pg_restore", "psql")) {
      Files.createSymbolicLink(clientOnly.resolve(p), PG.binDir().resolve(p));
    }
    Run run = drill(env(repo, clientOnly));
    assertEquals(2, run.code(), run.err());
    assertEquals("pgsidecar drill: pg_verifybackup, pg_waldump, pg_ctl, postgres not found in "
        + clientOnly + " (postgres.bin-dir, PGSIDECAR_POSTGRES_BIN_DIR); run the drill where"
        + " PostgreSQL's server programs are, e.g. in the postgres image (the chart's drill"
        + " CronJob)\n", run.err());

    Map<String, String> env = env(repo, clientOnly);
    env.put("PGSIDECAR_SCHEDULE_VERIFY", "0 3 * * 0");
    PgsidecarConfig config = ConfigLoader.load(Optional.empty(), env);
    try (Storage storage = new FsStorage(repo); AgentMetrics metrics = new AgentMetrics("db1")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> new VerifyFeature().open(new FeatureContext(config, storage, zstd, metrics,
              new FeatureContext.Events() {}, new FeatureContext.RunningJobs())));
      assertEquals("schedule.verify is set but a restore drill cannot run here: pg_verifybackup,"
          + " pg_waldump, pg_ctl, postgres not found in " + clientOnly + " (postgres.bin-dir,"
          + " PGSIDECAR_POSTGRES_BIN_DIR); point postgres.bin-dir at PostgreSQL's server programs,"
          + " or remove schedule.verify and run drills with the chart's drill CronJob"
          + " (drill.enabled: true)", e.getMessage());
    }
  }
}
