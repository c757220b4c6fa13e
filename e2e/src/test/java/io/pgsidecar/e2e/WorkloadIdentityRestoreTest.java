package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.TokenIssuer;
import io.pgsidecar.testkit.Waits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Point-in-time recovery as an AKS pod with workload identity does it, end to end: no account
 * key anywhere. The agent archives a real PostgreSQL's WAL and takes a base backup into Azurite
 * in OAuth mode (HTTPS, bearer tokens only) with {@code auth: workload-identity} and the four
 * variables the webhook injects; the real {@code bin/restore-init} then restores into a fresh
 * PGDATA with a recovery target time and the same identity (the webhook injects into init
 * containers too), and PostgreSQL's recovery fetches every segment through restore_command,
 * wal-archiver and the agent, again with that identity. The restored server must hold exactly the
 * rows committed before the target.
 */
class WorkloadIdentityRestoreTest {

  @TempDir Path tmp;

  @Test
  void restoreInitWithTheWebhooksVariablesRecoversToTheTargetTimeThroughTheAgent()
      throws Exception {
    try (TokenIssuer issuer = TokenIssuer.start(); Azurite azurite = Azurite.launchOAuth()) {
      String container = azurite.createContainer("wipitr");
      Path tokenFile = Files.writeString(tmp.resolve("azure-identity-token"),
          issuer.federatedToken());
      Map<String, String> webhook = Map.of(
          "AZURE_FEDERATED_TOKEN_FILE", tokenFile.toString(),
          "AZURE_CLIENT_ID", TokenIssuer.CLIENT_ID,
          "AZURE_TENANT_ID", TokenIssuer.TENANT_ID,
          "AZURE_AUTHORITY_HOST", issuer.authorityHost());
      try (IdentityRig pod = new IdentityRig(tmp.resolve("pod"), azurite, container,
          "auth: workload-identity\n", webhook)) {
        PostgresCluster pg = pod.pg;
        pg.sql("CREATE TABLE orders (id int PRIMARY KEY, batch text NOT NULL)");
        pg.sql("INSERT INTO orders SELECT g, 'before-backup' FROM generate_series(1, 100) g");
        String backup = pod.backup("workload identity");

        pg.sql("INSERT INTO orders SELECT g, 'before-target' FROM generate_series(101, 300) g");
        pod.archiveCurrentSegment(); // recovery needs more than the backup's own segment
        pg.sql("INSERT INTO orders SELECT g, 'before-target' FROM generate_series(301, 350) g");
        String target = pg.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC',"
            + " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
        Instant targetInstant = Instant.parse(target);
        Waits.until(Duration.ofSeconds(10), Duration.ofMillis(20), () -> Instant.parse(pg.sql(
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"))
            .isAfter(targetInstant.plusMillis(10)));
        pg.sql("INSERT INTO orders SELECT g, 'after-target' FROM generate_series(351, 500) g");
        pg.sql("DELETE FROM orders WHERE id <= 50");
        pod.archiveCurrentSegment();
        assertEquals(450, pg.sqlLong("SELECT count(*) FROM orders"));

        int tokensBefore = issuer.issued().size();
        Path pgdata = PostgresCluster.emptyDataDirectory();
        IdentityRig.Run init = pod.restoreInit(pod.restoreToTime(pgdata, target));
        System.out.println("bin/restore-init with workload identity:\n" + init.output());
        assertEquals(0, init.code(), init.output());
        assertTrue(init.output().contains("restore-init: restored backup " + backup + " into "
            + pgdata + ": "), init.output());
        assertTrue(issuer.issued().size() > tokensBefore,
            "restore-init obtained its own access token from the issuer: " + issuer.issued());

        try (PostgresCluster restored = PostgresCluster.fromExistingDataDir(pgdata)
            .setting("archive_mode", "off").deleteDataDirOnClose().build()) {
          restored.start();
          restored.awaitEndOfRecovery(Duration.ofSeconds(180));
          String log = restored.logTail(400);
          assertTrue(log.contains("restored log file \""), "recovery fetched archived WAL through"
              + " restore_command:\n" + restored.logTail(60));
          assertTrue(log.contains("recovery stopping before commit of transaction"),
              restored.logTail(60));
          assertEquals(350, restored.sqlLong("SELECT count(*) FROM orders"),
              "the rows committed before the target time");
          assertEquals(0, restored.sqlLong(
              "SELECT count(*) FROM orders WHERE batch = 'after-target'"));
          assertEquals(100, restored.sqlLong(
              "SELECT count(*) FROM orders WHERE batch = 'before-backup'"));
        }
        assertEquals(List.of(), issuer.refused(), "no grant was refused");
        String agentLog = pod.agent.log();
        assertTrue(!agentLog.contains("authentication with auth"), pod.agent.logTail());
      }
    }
  }
}
