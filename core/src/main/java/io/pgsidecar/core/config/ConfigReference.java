package io.pgsidecar.core.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Generates docs/configuration.md from {@link ConfigParameters}, so the reference cannot drift
 * from the code: a test compares the committed file with {@link #markdown()}.
 * {@code main(path)} rewrites the file.
 */
public final class ConfigReference {

  private ConfigReference() {}

  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "docs/configuration.md");
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, markdown());
  }

  public static String markdown() {
    StringBuilder sb = new StringBuilder();
    sb.append("""
        # Configuration reference

        <!-- Generated from core/src/main/java/io/pgsidecar/core/config/ConfigParameters.java by
             ConfigReferenceTest; do not edit by hand. To regenerate:
             ./mvnw -B -q -pl core -am verify -Dtest=ConfigReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -Dpgsidecar.writeDocs=true -->

        pgsidecar reads one YAML file (`--config FILE` or `PGSIDECAR_CONFIG`) and the environment.
        Nested YAML maps name the keys below (`storage: {azure: {account: x}}` is
        `storage.azure.account`). Every key can also be set by an environment variable:
        `PGSIDECAR_` followed by the key upper-cased with `.` and `-` written `_`.

        Precedence, highest first: `PGSIDECAR_*` variables, the YAML file, the libpq variables
        named in the table (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSFILE`, `PGPASSWORD`),
        the default. An empty value counts as unset. Lists are YAML lists or comma-separated text.
        Sizes use binary units (`8MiB`), durations `ms`, `s`, `m`, `h`, `d` (`30s`, `10m`).

        Secrets (marked below) are read only from the environment, never from the YAML file, and
        are never printed: `pgsidecar config show` shows them as `<redacted>`. Other secrets are
        files (`*-file` keys) mounted from Kubernetes Secrets.

        Unknown keys, unknown `PGSIDECAR_*` variables, bad values and missing required keys stop
        the start with every problem listed at once; `pgsidecar config check` runs the same checks.

        | key | environment variable | value | default | description |
        |---|---|---|---|---|
        """);
    for (Param<?> p : ConfigParameters.ALL) {
      String env = "`" + p.envVar() + "`" + p.libpqFallback().map(v -> " (or `" + v + "`)").orElse("");
      String def = p.defaultText().map(d -> "`" + d + "`").or(p::defaultNote).orElse("");
      String description = p.description() + (p.secret() ? " **Secret.**" : "");
      sb.append("| `").append(p.key()).append("` | ").append(env).append(" | ")
          .append(escape(p.type().expected())).append(" | ").append(def).append(" | ")
          .append(escape(description)).append(" |\n");
    }
    sb.append(AZURE_AUTH);
    return sb.toString();
  }

  /** Which credential each {@code storage.azure.auth} mode reads, and the Azure role it needs. */
  static final String AZURE_AUTH = """

      ## Azure authentication modes and roles

      `storage.azure.auth` picks how the agent (and restore-init, which reads the same keys)
      gets access to the container. Modes that use Microsoft Entra ID need an Azure role on
      the container (or its storage account); the agent writes, lists and deletes, a restore only
      reads and lists.

      | mode | what it reads | agent (archive, backup, dump, retention) | read-only restore identity |
      |---|---|---|---|
      | `workload-identity` | `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID` (or `storage.azure.client-id`), `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST` (default `https://login.microsoftonline.com/`), as the AKS workload identity webhook sets them; a missing one stops the start naming it | Storage Blob Data Contributor | Storage Blob Data Reader |
      | `managed-identity` | the platform's managed identity endpoint (IMDS, or `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`); `storage.azure.client-id` picks a user-assigned identity | Storage Blob Data Contributor | Storage Blob Data Reader |
      | `default` | whatever `DefaultAzureCredential` finds (environment, workload identity, managed identity, Azure CLI) | Storage Blob Data Contributor | Storage Blob Data Reader |
      | `sas` | a SAS token from `storage.azure.sas-token-file` | a container SAS with read, add, create, write, delete, list (`racwdl`) | read, list (`rl`) |
      | `shared-key` | the account key from `storage.azure.key-file` | the key grants everything: no role | the key grants everything |
      | `connection-string` | `PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING` (or `AZURE_STORAGE_CONNECTION_STRING`) | as the key or SAS it holds | as the key or SAS it holds |

      Storage Blob Data Contributor is needed at the data plane: the Owner or Contributor role on
      the account alone does not let a token read blobs. Workload identity also needs a federated
      identity credential on the application or user-assigned identity `AZURE_CLIENT_ID` names,
      with the cluster's OIDC issuer URL, the subject
      `system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT` and the audience
      `api://AzureADTokenExchange`; an expired token file, another audience, or an issuer/subject
      matching no credential are reported with the variable to check. Access tokens are renewed
      before they expire, also during a long upload; the token file is re-read when a new access
      token is requested, so kubelet's rotation of the projected token is picked up. For an
      `AZURE_AUTHORITY_HOST` other than the Microsoft clouds' login hosts (Azure Stack, a private
      cloud) instance discovery is skipped, as it would ask login.microsoftonline.com about that
      host. A SAS that expires during an upload fails that upload with an error naming
      `storage.azure.sas-token-file`; nothing half-written becomes visible (staged blocks that were
      never committed are not a blob, and Azure discards them after a week).

      ### What is proven, mode by mode

      Every test below runs in `./scripts/test.sh` on one machine, against Azurite (in OAuth mode,
      HTTPS, for the token modes: it accepts only bearer tokens there) or S3Mock, with real
      PostgreSQL 15 in the end-to-end drills. Tokens come from `testkit`'s `TokenIssuer` (an OpenID
      token endpoint over TLS, an App Service style managed identity endpoint, and an IMDS), always
      through the real azure-identity/MSAL or AWS SDK code path. "Storage contract" is the shared
      `StorageContractTest` (never overwrite, idempotent retry, streaming multipart uploads,
      listing, ranged reads, deletes), unchanged for every driver and mode. A PITR drill archives a
      real server's WAL through the agent, takes a base backup, inserts rows before and after a
      recorded time, restores to that time and asserts the promoted server's exact row count.

      | mode | storage contract | end to end |
      |---|---|---|
      | `workload-identity` | `AzureWorkloadIdentityContractTest` (federated token file, `AZURE_*` as the webhook sets them) | PITR drill through `bin/restore-init` with only the webhook's four variables: `IdentityRestoreTest` (`WORKLOAD_IDENTITY`); expiry mid-upload and wrong audience: `AzureIdentityTest` |
      | `managed-identity`, IMDS (VM, AKS node pool) | `AzureManagedIdentityContractTest` (`IMDS`: `AZURE_POD_IDENTITY_AUTHORITY_HOST`, in a JVM of its own) | PITR drill through `bin/restore-init`: `IdentityRestoreTest` (`MANAGED_IDENTITY_IMDS`); WAL push and fetch, and an identity IMDS refuses: `ManagedIdentityImdsTest` |
      | `managed-identity`, `IDENTITY_ENDPOINT` (App Service style) | `AzureManagedIdentityContractTest` (`IDENTITY_ENDPOINT`, in a JVM of its own) | none of its own: the agent uses the same credential as with IMDS, only MSAL's endpoint differs |
      | `sas` | `AzureSasContractTest` (a container SAS, `racwdl`, in `storage.azure.sas-token-file`) | PITR drill through `bin/restore-init`: `IdentityRestoreTest` (`SAS`); a SAS expiring mid-upload: `AzureIdentityTest` |
      | `shared-key` | `AzureStorageContractTest` | the Azurite drills (`RetentionDrillTest`, `RecoveryTargetsTest`, `DisasterDrillTest`, ...) |
      | `connection-string` | one create and read (`AzureStorageContractTest`) | none |
      | `default` | none of its own (it picks one of the above at run time); `DefaultAzureCredential` finding the pod's workload identity: `AzureIdentityTest` | none |
      | S3, `static` | `S3StorageContractTest` (S3Mock; a store that overwrites despite `If-None-Match: *` is refused at start: `S3ConditionalWritesTest`) | WAL archiving and a restore replaying it: `WalArchivingOnS3Test`; retention then PITR to the oldest promised moment: `RetentionDrillTest.onS3TheSame` |
      | S3, `default` with a web identity token file (EKS IRSA) | requests signed with STS session credentials: `S3WebIdentityTest` | none |

      ### Managed identity through IMDS (VMs, AKS node pools)

      With `managed-identity` and no `IDENTITY_ENDPOINT` in the environment (App Service style),
      the token comes from the Azure Instance Metadata Service, as on a VM, a scale set or an AKS
      node pool: `GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com`
      with the header `Metadata: true`, plus `client_id=` the value of `storage.azure.client-id`
      for a user-assigned identity (such as the node pool's kubelet identity; unset: the
      system-assigned identity). The identity must be assigned to the VM or node pool and hold
      the role in the table. `AZURE_POD_IDENTITY_AUTHORITY_HOST` replaces
      `http://169.254.169.254` (give it without a trailing slash: the path is appended to it); it
      is what MSAL's IMDS source (msal4j 1.26.0 under azure-identity 1.19.0) reads in place of
      the fixed address (Azure Arc's `IMDS_ENDPOINT` is another source, used only with
      `IDENTITY_ENDPOINT`). On AKS every pod of a node can use that node's identities: workload
      identity grants one service account only and is the narrower choice. When IMDS refuses
      (an identity not assigned to the node, a wrong client id), archiving fails and the agent
      logs `authentication with auth MANAGED_IDENTITY failed` with what to check
      (`storage.azure.client-id`, the assignment to the VM or node pool, the role on the
      container). The chart's NetworkPolicy restricts ingress only, so 169.254.169.254 stays
      reachable unless a cluster policy blocks it. Proven against Azurite in OAuth mode by
      `e2e/.../ManagedIdentityImdsTest` (a test IMDS over plain HTTP behind
      `AZURE_POD_IDENTITY_AUTHORITY_HOST`).

      ### restore-init with workload identity

      restore-init reads the same configuration file and the same environment as the agent: with
      `workload-identity` it needs the four webhook variables above (with `managed-identity`, the
      same reach to IMDS and the same `storage.azure.client-id`). The AKS webhook injects them, and
      mounts the projected token, into init containers too: every container and init container of
      a pod labelled `azure.workload.identity/use: "true"`, running under a service account
      annotated `azure.workload.identity/client-id`, except the containers named in the pod
      annotation `azure.workload.identity/skip-containers`; a variable a container already sets
      is left as it is. The chart labels the pod, annotates its service account
      (`serviceAccount.azureClientId`) and sets none of the `AZURE_*` variables on restore-init or the
      agent, so restore-init gets the pod's identity with nothing more to configure: do not name
      `restore-init` (or `agent`) in `skip-containers` through `podAnnotations`. The restore
      itself only reads (Storage Blob Data Reader is enough for restore-init); PostgreSQL's
      recovery then fetches WAL through restore_command, wal-archiver and the agent's socket,
      with the agent's identity. Proven end to end by `e2e/.../IdentityRestoreTest`: the
      real `bin/restore-init` with only those four variables (or only the IMDS address, or only
      the SAS token file in the configuration) restores a base backup into an empty PGDATA with a
      recovery target time, and PostgreSQL replays the archive through the agent to exactly the
      rows of the target.
      """;

  private static String escape(String cell) {
    return cell.replace("|", "\\|");
  }
}
