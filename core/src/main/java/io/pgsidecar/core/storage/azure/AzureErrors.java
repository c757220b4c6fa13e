package io.pgsidecar.core.storage.azure;

import com.azure.core.exception.ClientAuthenticationException;
import com.azure.core.exception.HttpResponseException;
import com.azure.storage.blob.models.BlobErrorCode;
import com.azure.storage.blob.models.BlobStorageException;
import com.microsoft.aad.msal4j.MsalException;
import com.microsoft.aad.msal4j.MsalServiceException;
import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.storage.StorageException;
import java.io.InterruptedIOException;
import java.util.regex.Pattern;

/**
 * Turns what the Azure SDK throws into a {@link StorageException} that names the operation, the
 * object and what to check. Only the status, the service's error code and the first line of its
 * message are kept: never a header, URL query or credential.
 */
final class AzureErrors {

  private final String account;
  private final String container;
  private final AzureAuth auth;

  /** {@code auth} is null when the client was built elsewhere (tests). */
  AzureErrors(String account, String container, AzureAuth auth) {
    this.account = account;
    this.container = container;
    this.auth = auth;
  }

  static boolean is(Throwable e, int status, BlobErrorCode code) {
    return e instanceof BlobStorageException b && b.getStatusCode() == status
        && (code == null || code.equals(b.getErrorCode()));
  }

  /**
   * Whether another try of a request may succeed: throttling (429), timeouts (408), server
   * errors (5xx but 501 and 505), and failures with no answer at all (refused or reset
   * connections, a try that ran past storage.timeout). Other answers (404, 409, 412, 403...) are
   * the service's verdict and stay as they are.
   */
  static boolean retryable(Throwable e) {
    Throwable auth = authenticationFailure(e);
    if (auth != null) {
      return retryableTokenFailure(auth);
    }
    if (e instanceof HttpResponseException h && h.getResponse() != null) {
      int status = h.getResponse().getStatusCode();
      return status == 408 || status == 429 || (status >= 500 && status != 501 && status != 505);
    }
    if (e instanceof IllegalArgumentException
        || e instanceof StorageException || e instanceof InterruptedIOException) {
      return false;
    }
    return true;
  }

  StorageException containerMissing() {
    return new StorageException("container " + container + " does not exist in account " + account
        + ": create it or fix storage.azure.container");
  }

  StorageException translate(String operation, String key, Throwable e) {
    if (e instanceof StorageException s) {
      return s;
    }
    String what = operation + (key == null ? "" : " of " + key) + " in azure://" + account + "/"
        + container;
    if (e instanceof BlobStorageException b) {
      if (BlobErrorCode.CONTAINER_NOT_FOUND.equals(b.getErrorCode())) {
        return new StorageException(containerMissing().getMessage() + " (" + what + ")", e);
      }
      if (BlobErrorCode.BLOB_ARCHIVED.equals(b.getErrorCode())) {
        return new StorageException(what + ": the object is in the Archive tier (set by"
            + " retention.base-backups.tier.*) and must be rehydrated before it can be read, which"
            + " takes hours: az storage blob set-tier --account-name " + account + " --container-name "
            + container + " --name " + key + " --tier Hot --rehydrate-priority High; or restore"
            + " from another backup (restore.backup)", e);
      }
      String detail = b.getStatusCode() + " " + b.getErrorCode() + firstLine(b.getServiceMessage());
      if (b.getStatusCode() == 403 || b.getStatusCode() == 401) {
        // The SDK's service message for these is advice about signatures; the service's own
        // words (e.g. "Lifetime validation failed. The token is expired.") are in the body.
        String why = authenticationDetail(b.getMessage());
        detail = b.getStatusCode() + " " + b.getErrorCode() + (why.isEmpty() ? "" : ": " + why);
        return new StorageException(what + " was refused (" + detail + ") with auth " + authName()
            + ": " + authHint(), e);
      }
      return new StorageException(what + " failed (" + detail + ")", e);
    }
    Throwable auth = authenticationFailure(e);
    if (auth != null) {
      return new StorageException(what + ": authentication with auth " + authName() + " failed"
          + firstLine(auth.getMessage()) + "; "
          + (unreachable(auth) ? unreachableHint() : tokenHint(auth.getMessage())), e);
    }
    return new StorageException(what + " failed: " + e.getClass().getSimpleName() + ": "
        + firstLine(e.getMessage()) + "; check the network path to the storage endpoint", e);
  }

  private static final Pattern AUTH_DETAIL = Pattern.compile(
      "<AuthenticationErrorDetail>([^<]{1,300})</AuthenticationErrorDetail>");
  private static final Pattern SERVICE_MESSAGE =
      Pattern.compile("<Message>([^<\\r\\n]{1,300})");

  /** The service's own explanation of a 401/403 (detail, else its message's first line). */
  static String authenticationDetail(String exceptionMessage) {
    if (exceptionMessage == null) {
      return "";
    }
    var m = AUTH_DETAIL.matcher(exceptionMessage);
    if (m.find()) {
      return m.group(1).strip();
    }
    m = SERVICE_MESSAGE.matcher(exceptionMessage);
    return m.find() ? m.group(1).strip() : "";
  }

  /**
   * The credential's failure (azure-identity's, or MSAL's as the token request gets it), also
   * when the pipeline wrapped it in a RuntimeException or ExecutionException; null when none.
   */
  static Throwable authenticationFailure(Throwable e) {
    int depth = 0;
    for (Throwable t = e; t != null && depth < 16; t = t.getCause(), depth++) {
      if (t instanceof ClientAuthenticationException || t instanceof MsalException) {
        return t;
      }
    }
    return null;
  }

  /**
   * Whether a failed token request may succeed when tried again: the identity endpoint's
   * throttling or server errors, or no answer at all; a refusal (a 4xx: wrong or expired
   * federated token, unknown client or tenant) or a local misconfiguration may not.
   */
  private static boolean retryableTokenFailure(Throwable auth) {
    if (auth instanceof MsalServiceException s) {
      int status = s.statusCode();
      return status == 0 || status == 408 || status == 429 || status >= 500;
    }
    // otherwise a local problem, unless the identity endpoint could not be reached
    return unreachable(auth);
  }

  /** Whether the token request failed for want of an answer (refused, reset, timed out). */
  private static boolean unreachable(Throwable auth) {
    int depth = 0;
    for (Throwable t = auth; t != null && depth < 16; t = t.getCause(), depth++) {
      if (t instanceof java.io.IOException || t instanceof java.io.UncheckedIOException) {
        return true;
      }
    }
    return false;
  }

  /**
   * What to check when no access token could be had: for workload identity the Entra ID error
   * code says which of the webhook's variables is wrong, and the message names it with its value
   * (none of them is a secret; the token file's content is never shown).
   */
  private String tokenHint(String message) {
    if (auth != AzureAuth.WORKLOAD_IDENTITY) {
      return authHint();
    }
    String m = message == null ? "" : message;
    String file = AzureClients.TOKEN_FILE_ENV + "="
        + AzureClients.env(AzureClients.TOKEN_FILE_ENV).orElse("(unset)");
    String client = AzureClients.CLIENT_ID_ENV + "="
        + AzureClients.env(AzureClients.CLIENT_ID_ENV).orElse("(unset)");
    String tenant = AzureClients.TENANT_ID_ENV + "="
        + AzureClients.env(AzureClients.TENANT_ID_ENV).orElse("(unset)");
    if (m.contains("AADSTS700024")) {
      return "the federated token in " + file + " has expired: kubelet renews the projected "
          + "service account token before it expires, so check that this file is the one the "
          + "webhook mounts (azure-identity-token) and that it is still being refreshed";
    }
    if (m.contains("AADSTS700212")) {
      return "the audience of the federated token in " + file + " matches no federated identity "
          + "credential of " + client + ": the projected token and the credential must both use "
          + "the audience api://AzureADTokenExchange";
    }
    if (m.contains("AADSTS70021")) {
      return "the issuer or subject of the federated token in " + file + " matches no federated "
          + "identity credential of " + client + ": the credential's issuer must be the cluster's "
          + "OIDC issuer URL and its subject system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT";
    }
    if (m.contains("AADSTS700016")) {
      return "no application " + client + " exists in " + tenant + ": check both";
    }
    if (m.contains("AADSTS90002")) {
      return "tenant " + tenant + " does not exist: check it";
    }
    return "check the pod's workload identity (" + client + ", " + tenant + ", " + file + ", "
        + AzureClients.AUTHORITY_HOST_ENV + "="
        + AzureClients.env(AzureClients.AUTHORITY_HOST_ENV).orElse("(unset)")
        + ") and that it holds the role 'Storage Blob Data Contributor' on container " + container;
  }

  private String unreachableHint() {
    if (auth == AzureAuth.WORKLOAD_IDENTITY) {
      return "the token endpoint under " + AzureClients.AUTHORITY_HOST_ENV + "="
          + AzureClients.env(AzureClients.AUTHORITY_HOST_ENV)
              .orElse(AzureClients.DEFAULT_AUTHORITY_HOST + " (the default)")
          + " did not answer: check that variable and the pod's egress to it";
    }
    return "the identity endpoint did not answer: check the network path to it; " + authHint();
  }

  private String authName() {
    return auth == null ? "(client supplied)" : auth.name();
  }

  private String authHint() {
    if (auth == null) {
      return "check the client's credentials";
    }
    return switch (auth) {
      case CONNECTION_STRING -> "check the connection string (storage.azure.connectionString or "
          + "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING) and its account key";
      case SHARED_KEY -> "check storage.azure.account and the key in storage.azure.keyFile";
      case SAS -> "check the token in storage.azure.sasTokenFile: its expiry and that it grants "
          + "read, add, create, write, delete and list on container " + container;
      case WORKLOAD_IDENTITY -> tokenHint(null);
      case MANAGED_IDENTITY -> "check the managed identity: storage.azure.client-id (a "
          + "user-assigned identity's client id; unset for the system-assigned one), that the "
          + "identity is assigned to this VM or node pool, and that it holds the role 'Storage "
          + "Blob Data Contributor' on container " + container;
      case DEFAULT -> "check the credentials DefaultAzureCredential finds in this environment and "
          + "that they hold the role 'Storage Blob Data Contributor' on container " + container;
    };
  }

  private static String firstLine(String s) {
    if (s == null || s.isBlank()) {
      return "";
    }
    String line = s.strip().lines().findFirst().orElse("");
    return ": " + (line.length() > 300 ? line.substring(0, 300) + "..." : line);
  }
}
