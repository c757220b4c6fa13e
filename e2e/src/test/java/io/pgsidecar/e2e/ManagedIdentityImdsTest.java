package io.pgsidecar.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.storage.blob.models.BlobItem;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.TokenIssuer;
import io.pgsidecar.testkit.Waits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code auth: managed-identity} as an AKS node pool's user-assigned (kubelet) identity or a VM's
 * gives it: the agent gets its tokens from the Instance Metadata Service, played by
 * {@link TokenIssuer}'s IMDS endpoint over plain HTTP. MSAL (which azure-identity 1.19.0's
 * ManagedIdentityCredential uses, msal4j 1.26.0) sends the IMDS request to
 * {@code AZURE_POD_IDENTITY_AUTHORITY_HOST} when that variable is set, instead of
 * {@code http://169.254.169.254}: the only override of the IMDS host the SDK has, and the one
 * this test uses; nothing else about the path differs from a node's. The identity is picked by
 * {@code storage.azure.client-id}, which must reach IMDS as {@code client_id}.
 */
class ManagedIdentityImdsTest {

  static TokenIssuer issuer;
  static Azurite azurite;

  @TempDir Path tmp;

  @BeforeAll
  static void start() throws Exception {
    issuer = TokenIssuer.start();
    azurite = Azurite.launchOAuth();
  }

  @AfterAll
  static void stop() {
    try {
      if (azurite != null) {
        azurite.close();
      }
    } finally {
      if (issuer != null) {
        issuer.close();
      }
    }
  }

  @Test
  void aUserAssignedIdentityFromImdsArchivesBacksUpAndFetchesWal() throws Exception {
    String container = azurite.createContainer("miimds");
    int imdsBefore = issuer.imdsRequests().size();
    try (IdentityRig pod = new IdentityRig(tmp.resolve("pod"), azurite, container,
        "auth: managed-identity\nclient-id: " + TokenIssuer.CLIENT_ID + "\n",
        Map.of("AZURE_POD_IDENTITY_AUTHORITY_HOST", issuer.imdsHost()))) {
      pod.pg.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g");
      String segment = pod.archiveCurrentSegment();
      byte[] archived = Files.readAllBytes(pod.pg.pgdata().resolve("pg_wal").resolve(segment));
      String backup = pod.backup("managed identity");

      Path restoring = Files.createDirectories(tmp.resolve("restoring"));
      Files.setPosixFilePermissions(restoring, PosixFilePermissions.fromString("rwxr-xr-x"));
      IdentityRig.Run fetch = pod.walArchiver(restoring, "fetch", segment, "RECOVERYXLOG");
      assertEquals(0, fetch.code(), fetch.output() + "\n" + pod.agent.logTail());
      assertArrayEquals(archived, Files.readAllBytes(restoring.resolve("RECOVERYXLOG")),
          "the fetched segment " + segment + " is the archived one");

      List<String> stored = new ArrayList<>();
      for (BlobItem b : azurite.containerClient(container).listBlobs()) {
        stored.add(b.getName());
      }
      assertTrue(stored.stream().anyMatch(n -> n.contains("/wal/") && n.contains(segment)),
          segment + " stored: " + stored);
      assertTrue(stored.stream().anyMatch(n -> n.contains(backup)), backup + " stored: " + stored);

      List<String> asked = issuer.imdsRequests().subList(imdsBefore, issuer.imdsRequests().size());
      System.out.println("IMDS requests of the agent: " + asked);
      assertFalse(asked.isEmpty(), "the agent asked IMDS for its token");
      assertEquals(List.of("client_id=" + TokenIssuer.CLIENT_ID + " resource="
          + TokenIssuer.STORAGE_RESOURCE), asked.stream().distinct().toList(),
          "every request names the user-assigned identity and the storage resource");
      assertFalse(pod.agent.log().contains("authentication with auth"), pod.agent.logTail());
    }
  }

  @Test
  void anIdentityImdsRefusesFailsArchivingWithWhatToCheckInTheAgentLog() throws Exception {
    String container = azurite.createContainer("mirefused");
    String other = "5f0c2d9e-2222-4222-8222-00000000beef";
    try (IdentityRig pod = new IdentityRig(tmp.resolve("pod"), azurite, container,
        "auth: managed-identity\nclient-id: " + other + "\n",
        Map.of("AZURE_POD_IDENTITY_AUTHORITY_HOST", issuer.imdsHost()))) {
      pod.pg.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
      pod.pg.switchWal();
      String expected = "authentication with auth MANAGED_IDENTITY failed";
      long t0 = System.nanoTime();
      Waits.until(Duration.ofSeconds(120), Duration.ofMillis(100),
          () -> (pod.agent.log() + pod.pg.logTail(400)).contains(expected)
              && pod.pg.sqlLong("SELECT failed_count FROM pg_stat_archiver") > 0);
      System.out.printf("refused by IMDS: archive_command failing after %d ms%n",
          (System.nanoTime() - t0) / 1_000_000);
      String log = pod.agent.log() + "\n" + pod.pg.logTail(400);
      String line = log.lines().filter(l -> l.contains(expected)).findFirst().orElseThrow();
      System.out.println("agent: " + line);
      assertTrue(line.contains("check the managed identity: storage.azure.client-id (a "
          + "user-assigned identity's client id; unset for the system-assigned one), that the "
          + "identity is assigned to this VM or node pool, and that it holds the role 'Storage "
          + "Blob Data Contributor' on container " + container), line);
      assertTrue(issuer.imdsRequests().contains("client_id=" + other + " resource="
          + TokenIssuer.STORAGE_RESOURCE), issuer.imdsRequests().toString());
      assertEquals(0, pod.pg.sqlLong("SELECT archived_count FROM pg_stat_archiver"));
      assertTrue(azurite.containerClient(container).listBlobs().stream()
          .noneMatch(b -> b.getName().contains("/wal/")), "no WAL stored without a token");
    }
  }
}
