package io.pgsidecar.core.storage.azure;

import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.identity.ManagedIdentityCredentialBuilder;
import com.azure.identity.WorkloadIdentityCredentialBuilder;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobContainerClientBuilder;
import com.azure.storage.common.StorageSharedKeyCredential;
import com.azure.storage.common.policy.RequestRetryOptions;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Builds the container client for one {@link PgsidecarConfig.Azure}, one branch per
 * {@code storage.azure.auth} mode. Secrets are read from their files here and handed straight to
 * the SDK; they are never logged nor put in an exception message.
 */
final class AzureClients {

  static final String CONNECTION_STRING_ENV = "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING";
  static final String SDK_CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING";

  /**
   * The SDK logs through SLF4J into java.util.logging. At INFO it reports, at every start, that
   * its Netty differs from ours by a patch version (we pin one Netty for Vert.x and the SDK on
   * purpose), and it logs every failed try at ERROR (three lines per refused request, and
   * Reactor Netty one more): against dead storage that buried the one line that matters.
   * {@link io.pgsidecar.core.storage.retry.RetryPolicy} logs each give-up once with its last error,
   * and every failure reaches the caller as a StorageException naming it, so the SDK's own
   * lines are off. {@code AZURE_LOG_LEVEL} (the SDK's own switch) leaves the levels alone, to
   * see them when debugging. Held here because JUL keeps loggers weakly. JUL here only sets the
   * SDK's levels (System.Logger has no levels to set); our own lines go through System.Logger.
   */
  private static final Logger SDK_LOG = Logger.getLogger("com.azure");
  private static final Logger NETTY_LOG = Logger.getLogger("reactor.netty");

  static {
    if (System.getenv("AZURE_LOG_LEVEL") == null && SDK_LOG.getLevel() == null) {
      SDK_LOG.setLevel(Level.OFF);
      NETTY_LOG.setLevel(Level.SEVERE);
    }
  }

  /** The AKS workload identity webhook's variables, in the order an error lists them. */
  static final String TOKEN_FILE_ENV = "AZURE_FEDERATED_TOKEN_FILE";
  static final String CLIENT_ID_ENV = "AZURE_CLIENT_ID";
  static final String TENANT_ID_ENV = "AZURE_TENANT_ID";
  static final String AUTHORITY_HOST_ENV = "AZURE_AUTHORITY_HOST";
  static final String DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com/";

  /**
   * Entra ID hosts MSAL knows (public and sovereign clouds): instance discovery runs for them;
   * for any other {@code AZURE_AUTHORITY_HOST} (Azure Stack, a private cloud) it is off, since
   * MSAL would otherwise ask login.microsoftonline.com about that host.
   */
  private static final Set<String> KNOWN_AUTHORITY_HOSTS = Set.of(
      "login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net",
      "login.chinacloudapi.cn", "login-us.microsoftonline.com", "login.microsoftonline.de",
      "login.microsoftonline.us");

  /** Where the environment is read; tests of this package play a pod's environment through it. */
  static volatile UnaryOperator<String> environment = System::getenv;

  private AzureClients() {}

  /**
   * Workload identity as the AKS webhook sets it up: the four variables are read here (not left
   * to the SDK) so that a missing one is named at start, the token file is checked readable at
   * start, and {@code storage.azure.client-id} overrides {@code AZURE_CLIENT_ID}. The SDK re-reads
   * the token file when it asks for a new access token, so kubelet's rotation of the projected
   * token is picked up.
   */
  static WorkloadIdentityCredentialBuilder workloadIdentity(PgsidecarConfig.Azure cfg)
      throws StorageException {
    String tokenFile = requiredEnv(TOKEN_FILE_ENV);
    String tenant = requiredEnv(TENANT_ID_ENV);
    String clientId = cfg.clientId().filter(s -> !s.isBlank()).or(() -> env(CLIENT_ID_ENV))
        .orElseThrow(() -> new StorageException("storage.azure.auth=WORKLOAD_IDENTITY needs the "
            + "environment variable " + CLIENT_ID_ENV + " (or storage.azure.client-id): "
            + WEBHOOK_HINT));
    String authority = env(AUTHORITY_HOST_ENV).orElse(DEFAULT_AUTHORITY_HOST);
    URI authorityUri;
    try {
      authorityUri = new URI(authority);
    } catch (URISyntaxException e) {
      authorityUri = null;
    }
    if (authorityUri == null || !"https".equals(authorityUri.getScheme())
        || authorityUri.getHost() == null) {
      throw new StorageException(AUTHORITY_HOST_ENV + "=" + authority + " is not an https URL "
          + "(e.g. " + DEFAULT_AUTHORITY_HOST + "): fix or unset it");
    }
    if (!Files.isReadable(Path.of(tokenFile))) {
      throw new StorageException("cannot read the federated token file " + TOKEN_FILE_ENV + "="
          + tokenFile + ": check the pod's projected service account token volume (" + WEBHOOK_HINT
          + ") and that the agent's user may read it");
    }
    var credential = new WorkloadIdentityCredentialBuilder().tenantId(tenant).clientId(clientId)
        .tokenFilePath(tokenFile).authorityHost(authority);
    if (!knownAuthorityHost(authority)) {
      credential.disableInstanceDiscovery();
    }
    return credential;
  }

  /** Whether {@code authority} (a URL) is a Microsoft cloud's login host MSAL can discover. */
  static boolean knownAuthorityHost(String authority) {
    try {
      String host = new URI(authority).getHost();
      return host != null && KNOWN_AUTHORITY_HOSTS.contains(host.toLowerCase(Locale.ROOT));
    } catch (URISyntaxException e) {
      return false;
    }
  }

  static final String WEBHOOK_HINT = "the Azure workload identity webhook sets it in pods "
      + "labelled azure.workload.identity/use=true whose service account is annotated "
      + "azure.workload.identity/client-id";

  private static String requiredEnv(String name) throws StorageException {
    return env(name).orElseThrow(() -> new StorageException("storage.azure.auth=WORKLOAD_IDENTITY "
        + "needs the environment variable " + name + ": " + WEBHOOK_HINT));
  }

  /** {@code retry} null keeps the SDK's defaults. */
  static BlobContainerClient build(PgsidecarConfig.Azure cfg, String container,
      RequestRetryOptions retry) throws StorageException {
    var builder = new BlobContainerClientBuilder().containerName(container);
    if (retry != null) {
      builder.retryOptions(retry);
    }
    switch (cfg.auth()) {
      case CONNECTION_STRING -> {
        String cs = cfg.connectionString()
            .or(() -> env(CONNECTION_STRING_ENV))
            .or(() -> env(SDK_CONNECTION_STRING_ENV))
            .orElseThrow(() -> new StorageException("storage.azure.auth=CONNECTION_STRING needs "
                + "storage.azure.connectionString or the environment variable "
                + CONNECTION_STRING_ENV));
        builder.connectionString(cs);
        cfg.endpoint().ifPresent(builder::endpoint);
      }
      case SHARED_KEY -> {
        String account = account(cfg);
        Path keyFile = cfg.keyFile().orElseThrow(() -> new StorageException(
            "storage.azure.auth=SHARED_KEY needs storage.azure.keyFile (the account key's file)"));
        builder.endpoint(endpoint(cfg))
            .credential(new StorageSharedKeyCredential(account,
                secret(keyFile, "storage.azure.keyFile")));
      }
      case SAS -> {
        Path tokenFile = cfg.sasTokenFile().orElseThrow(() -> new StorageException(
            "storage.azure.auth=SAS needs storage.azure.sasTokenFile"));
        builder.endpoint(endpoint(cfg)).sasToken(secret(tokenFile, "storage.azure.sasTokenFile"));
      }
      case WORKLOAD_IDENTITY -> builder.endpoint(endpoint(cfg))
          .credential(workloadIdentity(cfg).build());
      case MANAGED_IDENTITY -> {
        var credential = new ManagedIdentityCredentialBuilder();
        cfg.clientId().ifPresent(credential::clientId);
        builder.endpoint(endpoint(cfg)).credential(credential.build());
      }
      case DEFAULT -> {
        var credential = new DefaultAzureCredentialBuilder();
        if (env(AUTHORITY_HOST_ENV).filter(h -> !knownAuthorityHost(h)).isPresent()) {
          credential.disableInstanceDiscovery();
        }
        cfg.clientId().ifPresent(credential::managedIdentityClientId);
        cfg.clientId().ifPresent(credential::workloadIdentityClientId);
        builder.endpoint(endpoint(cfg)).credential(credential.build());
      }
    }
    try {
      return builder.buildClient();
    } catch (IllegalArgumentException | IllegalStateException e) {
      // The SDK's message may quote the connection string: keep only the kind of problem.
      throw new StorageException("cannot build the Azure client for container " + container
          + " with storage.azure.auth=" + cfg.auth() + ": " + e.getClass().getSimpleName()
          + "; check storage.azure.endpoint/account and the credential's format");
    }
  }

  /** {@code cfg.endpoint} (Azurite, sovereign clouds) or the public cloud's account endpoint. */
  static String endpoint(PgsidecarConfig.Azure cfg) throws StorageException {
    if (cfg.endpoint().isPresent()) {
      return cfg.endpoint().get();
    }
    return "https://" + account(cfg) + ".blob.core.windows.net";
  }

  private static String account(PgsidecarConfig.Azure cfg) throws StorageException {
    return cfg.account().filter(a -> !a.isBlank()).orElseThrow(() -> new StorageException(
        "storage.azure.auth=" + cfg.auth() + " needs storage.azure.account (the storage account's "
            + "name)"));
  }

  private static String secret(Path file, String configKey) throws StorageException {
    try {
      String s = Files.readString(file).strip();
      if (s.isEmpty()) {
        throw new StorageException(configKey + " " + file + " is empty");
      }
      return s;
    } catch (IOException e) {
      throw new StorageException("cannot read " + configKey + " " + file + ": " + e
          + "; check the mounted Secret and the file's permissions", e);
    }
  }

  static Optional<String> env(String name) {
    return Optional.ofNullable(environment.apply(name)).filter(s -> !s.isBlank());
  }
}
