package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import io.pgsidecar.testkit.TokenIssuer;
import io.pgsidecar.testkit.Waits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Point-in-time recovery to a target time as an Azure pod does it, end to end, once per way to
 * reach the container without an account key: {@code workload-identity} with the four variables
 * the AKS webhook injects, {@code managed-identity} with a user-assigned identity's client id and
 * tokens from IMDS (played by {@link TokenIssuer}, behind {@code AZURE_POD_IDENTITY_AUTHORITY_HOST}
 * as in {@link ManagedIdentityImdsTest}), and {@code sas} with a container SAS ({@code racwdl}) in
 * {@code storage.azure.sas-token-file}. The agent archives a real PostgreSQL's WAL and takes a
 * base backup into Azurite in OAuth mode (HTTPS) with that auth; the real {@code bin/restore-init}
 * then restores into a fresh PGDATA with a recovery target time and the same configuration and
 * environment (the webhook injects into init containers too; IMDS is the node's), and
 * PostgreSQL's recovery fetches every segment through restore_command, wal-archiver and the
 * agent. The restored server, promoted at the target, must hold exactly the rows committed before
 * it.
 */
class IdentityRestoreTest {

  @TempDir Path tmp;

  /** One way to authenticate: its {@code storage.azure} keys and environment, and its token count. */
  enum Mode {
    WORKLOAD_IDENTITY {
      @Override
      Auth auth(TokenIssuer issuer, Azurite azurite, String container, Path dir) throws Exception {
        Path tokenFile = Files.writeString(dir.resolve("azure-identity-token"),
            issuer.federatedToken());
        return new Auth("auth: workload-identity\n", Map.of(
            "AZURE_FEDERATED_TOKEN_FILE", tokenFile.toString(),
            "AZURE_CLIENT_ID", TokenIssuer.CLIENT_ID,
            "AZURE_TENANT_ID", TokenIssuer.TENANT_ID,
            "AZURE_AUTHORITY_HOST", issuer.authorityHost()), () -> issuer.issued().size());
      }
    },
    MANAGED_IDENTITY_IMDS {
      @Override
      Auth auth(TokenIssuer issuer, Azurite azurite, String container, Path dir) {
        return new Auth("auth: managed-identity\nclient-id: " + TokenIssuer.CLIENT_ID + "\n",
            Map.of("AZURE_POD_IDENTITY_AUTHORITY_HOST", issuer.imdsHost()),
            () -> issuer.imdsRequests().size());
      }
    },
    SAS {
      @Override
      Auth auth(TokenIssuer issuer, Azurite azurite, String container, Path dir) throws Exception {
        Path tokenFile = Files.writeString(dir.resolve("container.sas"),
            azurite.sasToken(container) + "\n");
        Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("rw-r--r--"));
        return new Auth("auth: sas\nsas-token-file: " + tokenFile + "\n", Map.of(), null);
      }
    };

    abstract Auth auth(TokenIssuer issuer, Azurite azurite, String container, Path dir)
        throws Exception;
  }

  /**
   * @param azureYaml the {@code storage.azure} keys beyond endpoint, account and container
   * @param tokens how many tokens the issuer has handed out so far; null for a mode without any
   */
  record Auth(String azureYaml, Map<String, String> env, IntSupplier tokens) {}

  @ParameterizedTest
  @EnumSource(Mode.class)
  void restoreInitRecoversToTheTargetTimeThroughTheAgent(Mode mode) throws Exception {
    try (TokenIssuer issuer = TokenIssuer.start(); Azurite azurite = Azurite.launchOAuth()) {
      String container = azurite.createContainer("pitr" + mode.ordinal());
      Auth auth = mode.auth(issuer, azurite, container, Files.createDirectories(tmp.resolve("id")));
      try (IdentityRig pod = new IdentityRig(tmp.resolve("pod"), azurite, container,
          auth.azureYaml(), auth.env())) {
        PostgresCluster pg = pod.pg;
        pg.sql("CREATE TABLE orders (id int PRIMARY KEY, batch text NOT NULL)");
        pg.sql("INSERT INTO orders SELECT g, 'before-backup' FROM generate_series(1, 100) g");
        String backup = pod.backup(mode.name());

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

        int tokensBefore = auth.tokens() == null ? 0 : auth.tokens().getAsInt();
        Path pgdata = PostgresCluster.emptyDataDirectory();
        IdentityRig.Run init = pod.restoreInit(pod.restoreToTime(pgdata, target));
        System.out.println("bin/restore-init with " + mode + ":\n" + init.output());
        assertEquals(0, init.code(), init.output());
        assertTrue(init.output().contains("restore-init: restored backup " + backup + " into "
            + pgdata + ": "), init.output());
        if (auth.tokens() != null) {
          assertTrue(auth.tokens().getAsInt() > tokensBefore,
              "restore-init obtained its own access token from the issuer: " + issuer.issued()
                  + " " + issuer.imdsRequests());
        }

        try (PostgresCluster restored = PostgresCluster.fromExistingDataDir(pgdata)
            .setting("archive_mode", "off").deleteDataDirOnClose().build()) {
          restored.start();
          restored.awaitEndOfRecovery(Duration.ofSeconds(180));
          assertEquals("f", restored.sql("SELECT pg_is_in_recovery()"), "promoted at the target");
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
        if (mode == Mode.SAS) {
          assertEquals(List.of(), issuer.issued(), "no token with a SAS");
          assertEquals(List.of(), issuer.imdsRequests(), "no token with a SAS");
        }
        String agentLog = pod.agent.log();
        assertTrue(!agentLog.contains("authentication with auth"), pod.agent.logTail());
      }
    }
  }
}
