package io.pgsidecar.core.storage.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.storage.blob.BlobServiceClientBuilder;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageContractTest;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.TestTls;
import io.pgsidecar.testkit.TokenIssuer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * The whole storage contract with {@code auth: managed-identity} and a user-assigned identity's
 * client id, once per managed identity source MSAL has: the real azure-identity/MSAL code path
 * asks {@link TokenIssuer} for access tokens that Azurite in {@code --oauth basic} mode (HTTPS)
 * accepts, through the App Service style endpoint ({@code IDENTITY_ENDPOINT},
 * {@code IDENTITY_HEADER}) or through IMDS as a VM or an AKS node pool has it (the test IMDS behind
 * {@code AZURE_POD_IDENTITY_AUTHORITY_HOST}, as in e2e ManagedIdentityImdsTest). MSAL reads those
 * variables from the process environment itself ({@link AzureClients#environment} does not reach the
 * {@code MANAGED_IDENTITY} branch), so {@link Contract} runs in a JVM of its own started with
 * them, through the JUnit Platform launcher ({@link Child}); this test fails with the child's
 * failures listed.
 */
class AzureManagedIdentityContractTest {

  static final String ENDPOINT = "pgsidecar.mi.endpoint";
  static final String CONNECTION_STRING = "pgsidecar.mi.connectionString";
  private static final Pattern SUMMARY = Pattern.compile(
      "contract summary: found (\\d+), succeeded (\\d+), failed (\\d+), aborted (\\d+), "
          + "skipped (\\d+)");

  @TempDir Path dir;

  /** Where MSAL finds the managed identity: the variables it reads, and what the issuer counts. */
  enum Source {
    IDENTITY_ENDPOINT {
      @Override
      Map<String, String> env(TokenIssuer issuer) {
        return Map.of("IDENTITY_ENDPOINT", issuer.identityEndpoint(),
            "IDENTITY_HEADER", TokenIssuer.IDENTITY_HEADER);
      }

      @Override
      List<?> asked(TokenIssuer issuer) {
        return issuer.issued();
      }
    },
    IMDS {
      @Override
      Map<String, String> env(TokenIssuer issuer) {
        return Map.of("AZURE_POD_IDENTITY_AUTHORITY_HOST", issuer.imdsHost());
      }

      @Override
      List<?> asked(TokenIssuer issuer) {
        return issuer.imdsRequests();
      }
    };

    abstract Map<String, String> env(TokenIssuer issuer);

    abstract List<?> asked(TokenIssuer issuer);
  }

  @ParameterizedTest
  @EnumSource(Source.class)
  void theWholeContractPassesWithManagedIdentityTokensOnly(Source source) throws Exception {
    try (TokenIssuer issuer = TokenIssuer.start(); Azurite azurite = Azurite.launchOAuth()) {
      List<String> cmd = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "--enable-native-access=ALL-UNNAMED", "-Xmx512m"));
      cmd.addAll(TestTls.get().jvmOptions());
      cmd.addAll(List.of("-D" + ENDPOINT + "=" + azurite.endpoint(),
          // Azurite's public development key, for creating the containers behind the driver
          "-D" + CONNECTION_STRING + "=" + azurite.connectionString(),
          "-cp", System.getProperty("java.class.path"), Child.class.getName()));
      Path log = dir.resolve("child.log");
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(log.toFile());
      pb.environment().keySet().removeIf(k -> k.startsWith("AZURE_") || k.startsWith("IDENTITY_")
          || k.startsWith("MSI_") || k.startsWith("IMDS_"));
      pb.environment().putAll(source.env(issuer));
      Process p = pb.start();
      boolean done = p.waitFor(20, TimeUnit.MINUTES);
      if (!done) {
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
      String out = Files.readString(log, StandardCharsets.UTF_8);
      System.out.println(out);
      assertTrue(done, "the contract's JVM did not finish in 20 minutes:\n" + out);
      Matcher m = SUMMARY.matcher(out);
      assertTrue(m.find(), "no summary from the contract's JVM (exit " + p.exitValue() + "):\n"
          + out);
      long expected = contractTests();
      assertEquals(List.of(expected, expected, 0L, 0L, 0L),
          List.of(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
              Long.parseLong(m.group(3)), Long.parseLong(m.group(4)), Long.parseLong(m.group(5))),
          "found, succeeded, failed, aborted, skipped:\n" + out);
      assertEquals(0, p.exitValue(), out);
      assertFalse(source.asked(issuer).isEmpty(), source + " issued the tokens");
      assertTrue(issuer.refused().isEmpty(), "refused: " + issuer.refused());
    }
  }

  /** The {@code @Test} methods of the contract, as the child should find and pass them. */
  private static long contractTests() {
    long n = 0;
    for (Class<?> c = Contract.class; c != Object.class; c = c.getSuperclass()) {
      for (Method method : c.getDeclaredMethods()) {
        if (method.isAnnotationPresent(Test.class)) {
          n++;
        }
      }
    }
    assertTrue(n > 10, "the contract has its tests: " + n);
    return n;
  }

  /**
   * The contract, run only in the child JVM: the driver with {@code auth: managed-identity} and
   * {@link TokenIssuer#CLIENT_ID}; each test in a container of its own.
   */
  static class Contract extends StorageContractTest {

    private static final long BLOCK_SIZE = 1024 * 1024;
    private static final AtomicInteger CONTAINERS = new AtomicInteger();

    private static String property(String name) {
      String value = System.getProperty(name);
      assertNotNull(value, "-D" + name + " is unset: " + Contract.class.getName()
          + " runs only in the JVM AzureManagedIdentityContractTest starts");
      return value;
    }

    private static PgsidecarConfig.Azure managedIdentity(String container, long blockSize) {
      return new PgsidecarConfig.Azure(AzureAuth.MANAGED_IDENTITY, Optional.empty(),
          Optional.of(property(ENDPOINT)), Optional.of(Azurite.ACCOUNT), Optional.empty(),
          Optional.empty(), container, blockSize, 4, Optional.of(TokenIssuer.CLIENT_ID));
    }

    @Override
    protected Storage newStorage() throws Exception {
      String container = "mi" + CONTAINERS.incrementAndGet();
      new BlobServiceClientBuilder().connectionString(property(CONNECTION_STRING)).buildClient()
          .createBlobContainer(container);
      boolean large = testInfo.getTestMethod().orElseThrow().getName().startsWith("large");
      return AzureStorage.open(managedIdentity(container,
          large ? AzureStorage.DEFAULT_BLOCK_SIZE : BLOCK_SIZE));
    }

    @Override
    protected Optional<Storage> storageAtMissingLocation() throws Exception {
      return Optional.of(AzureStorage.open(managedIdentity("nosuchcontainer", BLOCK_SIZE)));
    }

    @Override
    protected String missingLocationMessage() {
      return "container nosuchcontainer does not exist in account devstoreaccount1: create it or "
          + "fix storage.azure.container";
    }
  }

  /**
   * The child JVM's main: runs {@link Contract} through the JUnit Platform launcher, prints each
   * failure with its stack trace and one summary line, and exits 0 only when all passed.
   */
  public static final class Child {

    private Child() {}

    public static void main(String[] args) {
      var listener = new SummaryGeneratingListener();
      LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request()
          .selectors(DiscoverySelectors.selectClass(Contract.class)).build(), listener);
      TestExecutionSummary s = listener.getSummary();
      for (TestExecutionSummary.Failure f : s.getFailures()) {
        StringWriter trace = new StringWriter();
        f.getException().printStackTrace(new PrintWriter(trace));
        System.out.println("FAILED " + f.getTestIdentifier().getDisplayName() + ": " + trace);
      }
      System.out.printf("contract summary: found %d, succeeded %d, failed %d, aborted %d, "
              + "skipped %d%n", s.getTestsFoundCount(), s.getTestsSucceededCount(),
          s.getTotalFailureCount(), s.getTestsAbortedCount(), s.getTestsSkippedCount());
      System.out.flush();
      System.exit(s.getTotalFailureCount() == 0 && s.getTestsAbortedCount() == 0
          && s.getTestsSucceededCount() == s.getTestsFoundCount() ? 0 : 1);
    }
  }
}
