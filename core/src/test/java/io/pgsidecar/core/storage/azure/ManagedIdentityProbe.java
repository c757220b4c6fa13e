package io.pgsidecar.core.storage.azure;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.StorageException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

/**
 * Run by {@link AzureIdentityTest} in a JVM of its own (MSAL reads the managed identity
 * environment, {@code IDENTITY_ENDPOINT} and {@code IDENTITY_HEADER}, itself): opens the driver
 * with {@code auth: managed-identity}, probes, creates, reads and lists; prints {@code OK ...}
 * and exits 0, or prints the driver's error and exits 1.
 * Arguments: endpoint, container, client id[, auth mode (MANAGED_IDENTITY unless given)].
 */
public final class ManagedIdentityProbe {

  private ManagedIdentityProbe() {}

  public static void main(String[] args) throws Exception {
    AzureAuth auth = args.length > 3 ? AzureAuth.valueOf(args[3]) : AzureAuth.MANAGED_IDENTITY;
    var cfg = new PgsidecarConfig.Azure(auth, Optional.empty(),
        Optional.of(args[0]), Optional.of("devstoreaccount1"), Optional.empty(), Optional.empty(),
        args[1], 1 << 20, 2, Optional.of(args[2]));
    try (var s = AzureStorage.open(cfg)) {
      s.probe();
      s.create("mi/one", new ByteArrayInputStream("via managed identity"
          .getBytes(StandardCharsets.UTF_8)),
          () -> new ObjectMetadata("ab", 1, "none", "ABCDEF0123456789", Map.of()));
      String read;
      try (InputStream in = s.open("mi/one").orElseThrow()) {
        read = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      var keys = s.list("mi/").map(ObjectInfo::key).toList();
      System.out.println("OK read=" + read + " keys=" + keys);
    } catch (StorageException e) {
      System.out.println(e.getMessage());
      System.exit(1);
    }
    System.exit(0);
  }
}
