package io.pgsidecar.core.storage.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.storage.GeneratedContent;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.TestTls;
import io.pgsidecar.testkit.TokenIssuer;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Azure identity modes through the real azure-identity/MSAL code path, against
 * {@link TokenIssuer} (an Entra ID stand-in over TLS) and Azurite in {@code --oauth basic} mode
 * over HTTPS: short-lived access tokens renewed during a long upload, the errors of a bad
 * federated token (naming the variable to check), a missing webhook variable named at start,
 * managed identity through {@code IDENTITY_ENDPOINT} (in a JVM of its own: MSAL reads that
 * environment itself), and a SAS that expires during a long upload.
 */
class AzureIdentityTest {

  private static final long BLOCK = 1024 * 1024;
  private static final AtomicInteger CONTAINERS = new AtomicInteger();

  static TokenIssuer issuer;
  static Azurite azurite;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    issuer = TokenIssuer.start();
    azurite = Azurite.launchOAuth();
  }

  @AfterAll
  static void stop() {
    if (azurite != null) {
      azurite.close();
    }
    if (issuer != null) {
      issuer.close();
    }
  }

  @AfterEach
  void restore() {
    AzureClients.environment = System::getenv;
    issuer.tokenLifetime(Duration.ofHours(1));
  }

  private Map<String, String> pod(String federatedToken) throws IOException {
    Path tokenFile = Files.writeString(dir.resolve("azure-identity-token"), federatedToken);
    Map<String, String> env = new HashMap<>(Map.of(
        "AZURE_FEDERATED_TOKEN_FILE", tokenFile.toString(),
        "AZURE_CLIENT_ID", TokenIssuer.CLIENT_ID,
        "AZURE_TENANT_ID", TokenIssuer.TENANT_ID,
        "AZURE_AUTHORITY_HOST", issuer.authorityHost()));
    AzureClients.environment = env::get;
    return env;
  }

  private static String newContainer(String prefix) {
    return azurite.createContainer(prefix + CONTAINERS.incrementAndGet());
  }

  private static PgsidecarConfig.Azure workloadIdentity(String container) {
    return AzureWorkloadIdentityContractTest.workloadIdentity(azurite, container, BLOCK);
  }

  private static ObjectMetadata meta() {
    return new ObjectMetadata("ab", 1, "zstd", "ABCDEF0123456789", Map.of());
  }

  /** {@code length} bytes of generated content, handed out over about {@code duration}. */
  static final class SlowContent extends FilterInputStream {
    private final long nanosPerByte;
    private final long start = System.nanoTime();
    private long read;

    SlowContent(GeneratedContent in, long length, Duration duration) {
      super(in);
      this.nanosPerByte = duration.toNanos() / length;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      long due = start + read * nanosPerByte;
      long wait = due - System.nanoTime();
      if (wait > 0) {
        try {
          TimeUnit.NANOSECONDS.sleep(wait);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        }
      }
      int n = super.read(b, off, Math.min(len, 64 * 1024));
      if (n > 0) {
        read += n;
      }
      return n;
    }
  }

  @Test
  void accessTokensThatExpireDuringALongUploadAreRenewedAndTheUploadCompletes() throws Exception {
    pod(issuer.federatedToken());
    issuer.tokenLifetime(Duration.ofSeconds(5));
    String container = newContainer("renew");
    long length = 20 * BLOCK + 777;
    var content = new GeneratedContent(17, length);
    int before = issuer.issued().size();
    int refusedBefore = issuer.refused().size();
    Instant started = Instant.now();
    try (var s = AzureStorage.open(workloadIdentity(container))) {
      s.create("base/long", new SlowContent(content, length, Duration.ofSeconds(16)), () -> meta());
      Duration took = Duration.between(started, Instant.now());
      List<Instant> issued = issuer.issued().subList(before, issuer.issued().size());
      System.out.println("upload took " + took + "; access tokens issued during it: "
          + issued.size() + " " + issued);
      assertTrue(took.compareTo(Duration.ofSeconds(15)) > 0, "the upload outlived tokens: " + took);
      assertTrue(issued.size() >= 3, "tokens of 5 s were renewed during a 16 s upload: " + issued);
      assertEquals(List.of(), issuer.refused().subList(refusedBefore, issuer.refused().size()));
      assertEquals(length, s.stat("base/long").orElseThrow().storedSize());
      try (InputStream in = s.open("base/long").orElseThrow()) {
        assertEquals(content.sha256(), GeneratedContent.sha256Of(in));
      }
    }
  }

  @Test
  void anExpiredFederatedTokenIsReportedNamingTheFileVariable() throws Exception {
    Map<String, String> env = pod(issuer.federatedToken(Instant.now().minusSeconds(60),
        TokenIssuer.FEDERATED_AUDIENCE));
    String container = newContainer("expired");
    try (var s = AzureStorage.open(workloadIdentity(container))) {
      var e = assertThrows(StorageException.class, s::probe);
      assertTrue(e.getMessage().startsWith("probe in azure://devstoreaccount1/" + container
          + ": authentication with auth WORKLOAD_IDENTITY failed: "), e.getMessage());
      assertTrue(e.getMessage().contains("AADSTS700024"), e.getMessage());
      assertTrue(e.getMessage().endsWith("; the federated token in AZURE_FEDERATED_TOKEN_FILE="
          + env.get("AZURE_FEDERATED_TOKEN_FILE") + " has expired: kubelet renews the projected "
          + "service account token before it expires, so check that this file is the one the "
          + "webhook mounts (azure-identity-token) and that it is still being refreshed"),
          e.getMessage());
    }
  }

  @Test
  void aRotatedTokenFileIsReadAgainWhenTheNextAccessTokenIsRequested() throws Exception {
    Map<String, String> env = pod(issuer.federatedToken(Instant.now().minusSeconds(60),
        TokenIssuer.FEDERATED_AUDIENCE));
    String container = newContainer("rotate");
    try (var s = AzureStorage.open(workloadIdentity(container))) {
      var e = assertThrows(StorageException.class, s::probe);
      assertTrue(e.getMessage().contains("AADSTS700024"), e.getMessage());
      // kubelet writes the renewed projected token in place
      Files.writeString(Path.of(env.get("AZURE_FEDERATED_TOKEN_FILE")), issuer.federatedToken());
      s.probe();
      s.create("after/rotation", new java.io.ByteArrayInputStream(new byte[] {7}), () -> meta());
      assertTrue(s.stat("after/rotation").isPresent());
    }
  }

  @Test
  void aFederatedTokenForAnotherAudienceIsReportedNamingTheVariablesToCheck() throws Exception {
    Map<String, String> env = pod(issuer.federatedToken(Instant.now().plusSeconds(3600),
        "api://some-other-audience"));
    String container = newContainer("audience");
    int refusedBefore = issuer.refused().size();
    try (var s = AzureStorage.open(workloadIdentity(container))) {
      var e = assertThrows(StorageException.class,
          () -> s.create("k", new java.io.ByteArrayInputStream(new byte[10]), () -> meta()));
      assertTrue(e.getMessage().startsWith("create of k in azure://devstoreaccount1/" + container
          + ": authentication with auth WORKLOAD_IDENTITY failed: "), e.getMessage());
      assertTrue(e.getMessage().endsWith("; the audience of the federated token in "
          + "AZURE_FEDERATED_TOKEN_FILE=" + env.get("AZURE_FEDERATED_TOKEN_FILE") + " matches no "
          + "federated identity credential of AZURE_CLIENT_ID=" + TokenIssuer.CLIENT_ID + ": the "
          + "projected token and the credential must both use the audience "
          + "api://AzureADTokenExchange"), e.getMessage());
    }
    assertFalse(azurite.containerClient(container).getBlobClient("k").exists());
    assertEquals(1, issuer.refused().size() - refusedBefore, "a refusal is not retried: "
        + issuer.refused());
  }

  @Test
  void anUnreachableTokenEndpointIsReportedNamingTheAuthorityHost() throws Exception {
    Map<String, String> env = pod(issuer.federatedToken());
    String gone;
    try (TokenIssuer stopped = TokenIssuer.start()) {
      gone = stopped.authorityHost();
    }
    env.put("AZURE_AUTHORITY_HOST", gone);
    String container = newContainer("noissuer");
    var storageCfg = new PgsidecarConfig.StorageConfig(PgsidecarConfig.StorageType.AZURE, "",
        Optional.empty(), workloadIdentity(container), Duration.ofSeconds(5), 1);
    try (var s = AzureStorage.open(storageCfg)) {
      var e = assertThrows(StorageException.class, s::probe);
      System.out.println("unreachable token endpoint: " + e.getMessage());
      assertTrue(e.getMessage().startsWith("probe in azure://devstoreaccount1/" + container
          + ": authentication with auth WORKLOAD_IDENTITY failed"), e.getMessage());
      assertTrue(e.getMessage().endsWith("; the token endpoint under AZURE_AUTHORITY_HOST=" + gone
          + " did not answer: check that variable and the pod's egress to it"), e.getMessage());
    }
  }

  @Test
  void aMissingWebhookVariableIsNamedAtStart() throws Exception {
    Map<String, String> env = pod(issuer.federatedToken());
    env.remove("AZURE_TENANT_ID");
    var e = assertThrows(StorageException.class,
        () -> AzureStorage.open(workloadIdentity("anything")));
    assertEquals("storage.azure.auth=WORKLOAD_IDENTITY needs the environment variable "
        + "AZURE_TENANT_ID: the Azure workload identity webhook sets it in pods labelled "
        + "azure.workload.identity/use=true whose service account is annotated "
        + "azure.workload.identity/client-id", e.getMessage());

    env.put("AZURE_TENANT_ID", TokenIssuer.TENANT_ID);
    env.put("AZURE_FEDERATED_TOKEN_FILE", dir.resolve("not-mounted").toString());
    e = assertThrows(StorageException.class, () -> AzureStorage.open(workloadIdentity("anything")));
    assertTrue(e.getMessage().startsWith("cannot read the federated token file "
        + "AZURE_FEDERATED_TOKEN_FILE=" + dir.resolve("not-mounted") + ": check the pod's "
        + "projected service account token volume"), e.getMessage());
  }

  @Test
  void aSasThatExpiresDuringALongUploadFailsClearlyAndCommitsNothing() throws Exception {
    String container = newContainer("sasexp");
    Path tokenFile = Files.writeString(dir.resolve("sas"),
        azurite.sasToken(container, OffsetDateTime.now().plusSeconds(5)) + "\n");
    var cfg = new PgsidecarConfig.Azure(AzureAuth.SAS, Optional.empty(),
        Optional.of(azurite.endpoint()), Optional.empty(), Optional.empty(),
        Optional.of(tokenFile), container, BLOCK, 2, Optional.empty());
    long length = 16 * BLOCK;
    try (var s = AzureStorage.open(cfg)) {
      s.create("before", new java.io.ByteArrayInputStream(new byte[] {1}), () -> meta());
      Instant started = Instant.now();
      var e = assertThrows(StorageException.class, () -> s.create("base/long",
          new SlowContent(new GeneratedContent(3, length), length, Duration.ofSeconds(12)),
          () -> meta()));
      assertTrue(e.getMessage().contains("of base/long in azure://devstoreaccount1/" + container
          + " was refused (403 "), e.getMessage());
      assertTrue(e.getMessage().endsWith("with auth SAS: check the token in "
          + "storage.azure.sasTokenFile: its expiry and that it grants read, add, create, write, "
          + "delete and list on container " + container), e.getMessage());
      // the token was good when the upload began: blocks went up before it expired
      Duration failedAfter = Duration.between(started, Instant.now());
      assertTrue(failedAfter.compareTo(Duration.ofSeconds(3)) > 0, "failed mid-upload, after "
          + failedAfter);
    }
    var blobs = azurite.containerClient(container);
    assertFalse(blobs.getBlobClient("base/long").exists(), "no committed blob");
    List<String> names = new ArrayList<>();
    blobs.listBlobs().forEach(b -> names.add(b.getName()));
    assertEquals(List.of("before"), names);
  }

  /**
   * What a read-only restore identity (Storage Blob Data Reader: read and list) can do: the
   * driver's probe, listing, stat and reads all work with a read+list SAS; a write is refused
   * with the error naming the credential.
   */
  @Test
  void aReadAndListOnlyCredentialIsEnoughForEverythingARestoreDoes() throws Exception {
    String container = newContainer("readonly");
    long length = 3 * BLOCK + 5;
    var content = new GeneratedContent(5, length);
    pod(issuer.federatedToken());
    try (var writer = AzureStorage.open(AzureWorkloadIdentityContractTest.workloadIdentity(
        azurite, container, BLOCK))) {
      writer.create("base/data", content, () -> meta());
    }
    var permission = new com.azure.storage.blob.sas.BlobContainerSasPermission()
        .setReadPermission(true).setListPermission(true);
    String sas = azurite.containerClient(container).generateSas(
        new com.azure.storage.blob.sas.BlobServiceSasSignatureValues(
            OffsetDateTime.now().plusHours(1), permission)
            .setStartTime(OffsetDateTime.now().minusMinutes(5)));
    Path tokenFile = Files.writeString(dir.resolve("sas-rl"), sas + "\n");
    var cfg = new PgsidecarConfig.Azure(AzureAuth.SAS, Optional.empty(),
        Optional.of(azurite.endpoint()), Optional.empty(), Optional.empty(),
        Optional.of(tokenFile), container, BLOCK, 2, Optional.empty());
    try (var reader = AzureStorage.open(cfg)) {
      reader.probe();
      assertEquals(List.of("base/data"),
          reader.list("base/").map(io.pgsidecar.core.storage.ObjectInfo::key).toList());
      assertEquals(length, reader.stat("base/data").orElseThrow().storedSize());
      try (InputStream in = reader.open("base/data").orElseThrow()) {
        assertEquals(content.sha256(), GeneratedContent.sha256Of(in));
      }
      var e = assertThrows(StorageException.class, () -> reader.create("base/other",
          new java.io.ByteArrayInputStream(new byte[] {1}), () -> meta()));
      assertTrue(e.getMessage().contains(" was refused (403 "), e.getMessage());
      assertTrue(e.getMessage().endsWith("with auth SAS: check the token in "
          + "storage.azure.sasTokenFile: its expiry and that it grants read, add, create, write, "
          + "delete and list on container " + container), e.getMessage());
    }
    assertFalse(azurite.containerClient(container).getBlobClient("base/other").exists());
  }

  @Test
  void managedIdentityThroughTheIdentityEndpointCreatesReadsAndLists() throws Exception {
    String container = newContainer("mi");
    int before = issuer.issued().size();
    Result r = probe(container, Map.of("IDENTITY_ENDPOINT", issuer.identityEndpoint(),
        "IDENTITY_HEADER", TokenIssuer.IDENTITY_HEADER));
    assertEquals(0, r.code(), r.out());
    assertTrue(r.out().contains("OK read=via managed identity keys=[mi/one]"), r.out());
    assertTrue(issuer.issued().size() > before, "the issuer gave the token");
    assertEquals("via managed identity", azurite.containerClient(container).getBlobClient("mi/one")
        .downloadContent().toString());

    Result wrong = probe(container, Map.of("IDENTITY_ENDPOINT", issuer.identityEndpoint(),
        "IDENTITY_HEADER", "not-the-header"));
    assertEquals(1, wrong.code(), wrong.out());
    assertTrue(wrong.out().contains("probe in azure://devstoreaccount1/" + container
        + ": authentication with auth MANAGED_IDENTITY failed"), wrong.out());
    assertTrue(wrong.out().contains("MSI401: missing or wrong X-IDENTITY-HEADER; check the "
        + "managed identity: storage.azure.client-id (a user-assigned identity's client id; unset "
        + "for the system-assigned one), that the identity is assigned to this VM or node pool, "
        + "and that it holds the role 'Storage Blob Data Contributor' on container " + container),
        wrong.out());
  }

  /**
   * {@code auth: default} (DefaultAzureCredential, in a JVM of its own since it reads the real
   * environment) finds the webhook's variables and goes through workload identity.
   */
  @Test
  void defaultAuthFindsTheWorkloadIdentityOfThePod() throws Exception {
    String container = newContainer("default");
    Path tokenFile = Files.writeString(dir.resolve("azure-identity-token"),
        issuer.federatedToken());
    int before = issuer.issued().size();
    Result r = probe(container, Map.of("AZURE_FEDERATED_TOKEN_FILE", tokenFile.toString(),
        "AZURE_CLIENT_ID", TokenIssuer.CLIENT_ID, "AZURE_TENANT_ID", TokenIssuer.TENANT_ID,
        "AZURE_AUTHORITY_HOST", issuer.authorityHost()), "DEFAULT");
    assertEquals(0, r.code(), r.out());
    assertTrue(r.out().contains("OK read=via managed identity keys=[mi/one]"), r.out());
    assertTrue(issuer.issued().size() > before, "the issuer gave the token");
  }

  record Result(int code, String out) {}

  private Result probe(String container, Map<String, String> env) throws Exception {
    return probe(container, env, "MANAGED_IDENTITY");
  }

  /** {@link ManagedIdentityProbe} in a JVM of its own with {@code env} and the test trust store. */
  private Result probe(String container, Map<String, String> env, String auth) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-Xmx256m"));
    cmd.addAll(TestTls.get().jvmOptions());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
        ManagedIdentityProbe.class.getName(), azurite.endpoint(), container,
        TokenIssuer.CLIENT_ID, auth));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("AZURE_") || k.startsWith("IDENTITY_")
        || k.startsWith("MSI_") || k.startsWith("IMDS_"));
    pb.environment().putAll(env);
    long t0 = System.nanoTime();
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the probe did not finish:\n" + out);
    }
    System.out.printf("managed identity probe %s: exit %d after %d ms%n", env.get("IDENTITY_HEADER"),
        p.exitValue(), (System.nanoTime() - t0) / 1_000_000);
    return new Result(p.exitValue(), out);
  }
}
