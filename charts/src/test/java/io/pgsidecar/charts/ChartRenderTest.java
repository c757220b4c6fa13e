package io.pgsidecar.charts;

import static io.pgsidecar.charts.Rendered.list;
import static io.pgsidecar.charts.Rendered.mountPath;
import static io.pgsidecar.charts.Rendered.names;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The rendered objects, read as a kubelet and an operator would: which containers run in which
 * order with which security, probes and mounts; what PostgreSQL is told; which objects exist.
 */
class ChartRenderTest {

  @Test
  void chartLintsCleanWithItsDefaults() {
    assertEquals(List.of(), ChartTool.lint(Rendered.chart()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("io.pgsidecar.charts.ValueSets#all")
  void everyContainerRunsUnderTheRestrictedPodSecurityStandard(String name, String[] sets) {
    Rendered r = Rendered.with(sets);
    JsonNode pod = r.podSpec().path("securityContext");
    assertTrue(pod.path("runAsNonRoot").asBoolean(), name + ": pod runAsNonRoot");
    assertEquals("RuntimeDefault", pod.at("/seccompProfile/type").asText());
    assertEquals(999, pod.path("fsGroup").asInt());
    assertFalse(r.podSpec().path("automountServiceAccountToken").asBoolean(true), "no API token in the pod");
    for (JsonNode c : r.allContainers()) {
      String where = name + ", container " + c.path("name").asText();
      JsonNode sc = c.path("securityContext");
      assertTrue(sc.path("runAsNonRoot").asBoolean(), where + ": runAsNonRoot");
      assertEquals(999, sc.path("runAsUser").asInt(), where + ": runAsUser (the postgres image's uid)");
      assertEquals(999, sc.path("runAsGroup").asInt(), where + ": runAsGroup");
      assertFalse(sc.path("allowPrivilegeEscalation").asBoolean(true), where + ": allowPrivilegeEscalation");
      assertEquals(List.of("ALL"), list(sc.at("/capabilities/drop")).stream().map(JsonNode::asText).toList(),
          where + ": capabilities dropped");
      assertTrue(sc.at("/capabilities/add").isMissingNode(), where + ": no capability added");
      assertEquals("RuntimeDefault", sc.at("/seccompProfile/type").asText(), where + ": seccomp");
      assertFalse(sc.path("privileged").asBoolean(false), where + ": privileged");
      boolean postgresRw = c.path("name").asText().equals("postgres")
          && List.of(sets).contains("postgresql.readOnlyRootFilesystem=false");
      assertEquals(!postgresRw, sc.path("readOnlyRootFilesystem").asBoolean(), where + ": readOnlyRootFilesystem");
    }
  }

  @Test
  void agentIsANativeSidecarBetweenTheInitContainersAndPostgres() {
    Rendered r = Rendered.with();
    assertEquals(List.of("install-client", "restore-init", "agent"), names(r.initContainers()));
    assertEquals(List.of("postgres"), names(r.containers()));
    assertEquals("Always", r.container("agent").path("restartPolicy").asText());
    assertTrue(r.container("restore-init").path("restartPolicy").isMissingNode(), "restore-init runs once");
    for (String once : List.of("install-client", "restore-init")) { // the API refuses probes on them
      for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
        assertTrue(r.container(once).path(probe).isMissingNode(), once + " has no " + probe);
      }
    }
  }

  @Test
  void agentRunsBesidePostgresOnClustersWithoutNativeSidecars() {
    Rendered r = Rendered.with("agent.nativeSidecar=false");
    assertEquals(List.of("install-client", "restore-init"), names(r.initContainers()));
    assertEquals(List.of("postgres", "agent"), names(r.containers()));
    assertTrue(r.container("agent").path("restartPolicy").isMissingNode());
    assertEquals(((com.fasterxml.jackson.databind.node.ObjectNode) Rendered.with().container("agent").deepCopy())
        .without("restartPolicy"),
        r.container("agent"), "the same agent container, only not an init container");
  }

  @Test
  void eachRoleIsChosenByTheCommandOfTheOneImage() {
    Rendered r = Rendered.with("image.tag=1.2.3");
    assertEquals("[\"/opt/pgsidecar/bin/pgsidecar-install-client\",\"/pgsidecar\"]",
        r.container("install-client").path("command").toString());
    assertEquals("[\"/opt/pgsidecar/bin/restore-init\",\"--config\",\"/etc/pgsidecar/config/pgsidecar.yaml\"]",
        r.container("restore-init").path("command").toString());
    assertEquals("[\"/opt/pgsidecar/bin/pgsidecar\",\"agent\",\"--config\",\"/etc/pgsidecar/config/pgsidecar.yaml\"]",
        r.container("agent").path("command").toString());
    for (String c : List.of("install-client", "restore-init", "agent")) {
      assertEquals("ghcr.io/pgsidecar/pgsidecar:1.2.3", r.container(c).path("image").asText());
    }
    assertEquals("ghcr.io/pgsidecar/pgsidecar:0.1.0", Rendered.with().container("agent").path("image").asText(),
        "the tag defaults to the chart's appVersion");
    JsonNode pg = r.container("postgres");
    assertEquals("postgres:15", pg.path("image").asText());
    assertTrue(pg.path("command").isMissingNode(), "the postgres image's own entrypoint runs");
  }

  @Test
  void postgresArchivesThroughTheClientAndBoundsItsRpoWithArchiveTimeout() {
    List<String> args = list(Rendered.with().container("postgres").path("args")).stream().map(JsonNode::asText).toList();
    assertEquals("postgres", args.get(0));
    assertEquals(List.of("archive_mode=on", "archive_command=/pgsidecar/bin/wal-archiver push \"%p\"",
        "port=5432", "archive_timeout=60s"), settings(args));
    List<String> changed = settings(list(Rendered.with("postgresql.settings.archive_timeout=30s",
        "postgresql.settings.wal_compression=on").container("postgres").path("args")).stream().map(JsonNode::asText).toList());
    assertTrue(changed.contains("archive_timeout=30s") && changed.contains("wal_compression=on"), changed.toString());
    assertTrue(Rendered.failureOf("postgresql.settings.archive_command=cp %p /x")
        .contains("postgresql.settings.archive_command is set by the chart"));
    assertTrue(Rendered.failureOf("postgresql.settings.restore_command=cp /x %p")
        .contains("postgresql.settings.restore_command is set by the chart"));
  }

  @Test
  void settingsFromAValuesFileKeepTheirNumbersAndText() {
    List<String> args = list(Rendered.withValuesFile("""
        postgresql:
          settings:
            work_mem: 1000000
            checkpoint_completion_target: 0.9
            shared_preload_libraries: pg_stat_statements,auto_explain
            log_line_prefix: '%m [%p] '
            jit: false
        """).container("postgres").path("args")).stream().map(JsonNode::asText).toList();
    assertEquals(List.of("archive_mode=on", "archive_command=/pgsidecar/bin/wal-archiver push \"%p\"", "port=5432",
        "archive_timeout=60s", "checkpoint_completion_target=0.9", "jit=false", "log_line_prefix=%m [%p] ",
        "shared_preload_libraries=pg_stat_statements,auto_explain", "work_mem=1000000"), settings(args));
  }

  /** The values of `-c name=value` pairs, in order. */
  private static List<String> settings(List<String> args) {
    List<String> out = new java.util.ArrayList<>();
    for (int i = 1; i < args.size(); i += 2) {
      assertEquals("-c", args.get(i), "args " + args);
      out.add(args.get(i + 1));
    }
    return out;
  }

  @Test
  void postgresFindsTheClientAndTheAgentSocketInTheSharedEmptyDir() {
    Rendered r = Rendered.with();
    assertTrue(r.volume("pgsidecar").has("emptyDir"));
    assertEquals("/pgsidecar", mountPath(r.container("install-client"), "pgsidecar"));
    assertEquals("/pgsidecar", mountPath(r.container("agent"), "pgsidecar"));
    JsonNode pg = r.container("postgres");
    assertEquals("/pgsidecar", mountPath(pg, "pgsidecar"));
    assertTrue(mount(pg, "pgsidecar").path("readOnly").asBoolean(), "PostgreSQL only runs the client");
    assertEquals("/pgsidecar/run/agent.sock", env(pg, "PGSIDECAR_SOCKET").path("value").asText());
    assertEquals("/var/lib/postgresql/data/pgdata", env(pg, "PGDATA").path("value").asText());
    assertTrue(mount(r.container("agent"), "data").path("readOnly").asBoolean(), "the agent reads PGDATA only");
    assertFalse(mount(r.container("restore-init"), "data").path("readOnly").asBoolean(), "restore-init writes PGDATA");
    assertEquals("/var/lib/postgresql/data", mountPath(pg, "data"));
    assertEquals("/var/run/postgresql", mountPath(pg, "postgres-run"));
    assertEquals("/tmp", mountPath(pg, "postgres-tmp"));
    assertEquals("/tmp", mountPath(r.container("agent"), "tmp"));
  }

  @Test
  void podReadinessIsPostgresAloneAndNeverDependsOnStorage() {
    Rendered r = Rendered.with(ValueSets.ACCOUNT);
    JsonNode pg = r.container("postgres");
    // as the Secret's role, into its database: no FATAL "role \"postgres\" does not exist" per probe
    assertEquals(List.of("sh", "-c", "exec pg_isready --host=127.0.0.1 --port=5432 --timeout=3"
            + " --username=\"${POSTGRES_USER:-postgres}\" --dbname=\"${POSTGRES_DB:-${POSTGRES_USER:-postgres}}\""),
        list(pg.at("/readinessProbe/exec/command")).stream().map(JsonNode::asText).toList());
    assertTrue(Rendered.with("postgresql.port=6543").container("postgres").at("/readinessProbe/exec/command/2")
        .asText().contains(" --port=6543 "), "the probe follows postgresql.port");
    assertTrue(pg.path("livenessProbe").isMissingNode(), "no liveness kill of a server in long recovery");
    for (Rendered each : List.of(r, Rendered.with("agent.nativeSidecar=false"))) {
      JsonNode agent = each.container("agent");
      // A sidecar's readiness counts toward the pod's, and /readyz checks storage.
      assertTrue(agent.path("readinessProbe").isMissingNode(), "the agent has no readiness probe");
      for (String probe : List.of("startupProbe", "livenessProbe")) {
        assertEquals("/healthz", agent.at("/" + probe + "/httpGet/path").asText(), probe);
        assertEquals("metrics", agent.at("/" + probe + "/httpGet/port").asText(), probe);
      }
      assertEquals(9187, agent.at("/ports/0/containerPort").asInt());
      assertEquals("metrics", agent.at("/ports/0/name").asText());
    }
    for (JsonNode c : r.allContainers()) {
      if (!c.path("name").asText().equals("postgres")) {
        assertTrue(c.path("readinessProbe").isMissingNode(), c.path("name") + " has no readiness probe");
      }
    }
  }

  @Test
  void workloadIdentityAnnotatesTheServiceAccountAndLabelsThePod() {
    Rendered r = Rendered.with(ValueSets.ACCOUNT, ValueSets.CLIENT_ID);
    JsonNode sa = r.one("ServiceAccount");
    assertEquals("11111111-2222-3333-4444-555555555555",
        sa.at("/metadata/annotations").path("azure.workload.identity/client-id").asText());
    assertEquals(sa.at("/metadata/name").asText(), r.podSpec().path("serviceAccountName").asText());
    assertEquals("true", r.one("StatefulSet").at("/spec/template/metadata/labels")
        .path("azure.workload.identity/use").asText());
    assertEquals("workload-identity", r.agentConfigTree().at("/storage/azure/auth").asText());
    assertNull(r.volume("storage-secret"), "no storage secret in the pod");

    Rendered sas = Rendered.with(ValueSets.ACCOUNT, "storage.azure.auth=sas", "storage.azure.existingSecret=azure-sas");
    assertTrue(sas.one("StatefulSet").at("/spec/template/metadata/labels")
        .path("azure.workload.identity/use").isMissingNode(), "no workload identity with a SAS");
    Rendered shared = Rendered.with("serviceAccount.create=false", "serviceAccount.name=shared");
    assertEquals(List.of(), shared.ofKind("ServiceAccount"));
    assertEquals("shared", shared.podSpec().path("serviceAccountName").asText());
  }

  /**
   * The AKS webhook gives AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID and
   * AZURE_AUTHORITY_HOST, and mounts the projected token, to every container and init container
   * of a pod labelled azure.workload.identity/use=true whose service account carries the client
   * id, except those its azure.workload.identity/skip-containers annotation names, and only
   * where the container does not set the variable itself (azure-workload-identity,
   * pkg/webhook/webhook.go: mutateContainers over InitContainers and Containers). So restore-init
   * reaches storage with the pod's identity when the pod is labelled, it runs under that service
   * account (a pod-level setting), nothing skips it, and it sets none of the four variables
   * itself; e2e IdentityRestoreTest runs bin/restore-init with exactly those variables.
   */
  @Test
  void workloadIdentityReachesRestoreInitAsTheWebhookMutatesInitContainersToo() {
    Rendered r = Rendered.with(ValueSets.ALL.get("restore enabled"));
    JsonNode template = r.one("StatefulSet").at("/spec/template");
    assertEquals("true", template.at("/metadata/labels").path("azure.workload.identity/use").asText());
    assertTrue(template.at("/metadata/annotations").path("azure.workload.identity/skip-containers")
        .isMissingNode(), "no container is skipped by the webhook");
    assertEquals(r.one("ServiceAccount").at("/metadata/name").asText(),
        r.podSpec().path("serviceAccountName").asText(), "the annotated service account");
    assertEquals(List.of("install-client", "restore-init", "agent"), names(r.initContainers()));
    for (String c : List.of("restore-init", "agent")) {
      for (JsonNode env : r.container(c).path("env")) {
        assertFalse(env.path("name").asText().startsWith("AZURE_"), c + " sets " + env.path("name")
            + " itself: the webhook would leave it, not put the pod's identity there");
      }
      assertEquals(mountPath(r.container("agent"), "config"), mountPath(r.container(c), "config"),
          c + " reads the agent's configuration file");
    }
    assertEquals("workload-identity", r.agentConfigTree().at("/storage/azure/auth").asText());
    assertTrue(r.agentConfigTree().at("/restore/enabled").asBoolean(), r.agentConfigTree().toString());
  }

  @Test
  void sasTokenIsAFileMountedFromTheNamedSecret() {
    Rendered r = Rendered.with(ValueSets.ACCOUNT, "storage.azure.auth=sas", "storage.azure.existingSecret=azure-sas");
    JsonNode secret = r.volume("storage-secret").path("secret");
    assertEquals("azure-sas", secret.path("secretName").asText());
    assertEquals("sas-token", secret.at("/items/0/key").asText());
    for (String c : List.of("restore-init", "agent")) {
      assertEquals("/etc/pgsidecar/storage", mountPath(r.container(c), "storage-secret"), c);
    }
    assertNull(mountPath(r.container("postgres"), "storage-secret"), "PostgreSQL never sees the storage credential");
    assertEquals("/etc/pgsidecar/storage/sas-token", r.agentConfigTree().at("/storage/azure/sas-token-file").asText());
    assertTrue(Rendered.failureOf(ValueSets.ACCOUNT, "storage.azure.auth=sas").contains(
        "storage.azure.existingSecret is required when storage.azure.auth is sas"));
  }

  @Test
  void irsaAnnotatesTheServiceAccountWithTheRoleAndNoStorageSecretIsMounted() {
    Rendered r = Rendered.with(ValueSets.ALL.get("S3 with IRSA"));
    JsonNode sa = r.one("ServiceAccount");
    assertEquals("arn:aws:iam::123456789012:role/pgsidecar-db1",
        sa.at("/metadata/annotations").path("eks.amazonaws.com/role-arn").asText());
    assertTrue(sa.at("/metadata/annotations").path("azure.workload.identity/client-id").isMissingNode());
    assertEquals(sa.at("/metadata/name").asText(), r.podSpec().path("serviceAccountName").asText());
    assertTrue(r.one("StatefulSet").at("/spec/template/metadata/labels")
        .path("azure.workload.identity/use").isMissingNode(), "no Azure workload identity on S3");
    assertNull(r.volume("storage-secret"), "no storage secret in the pod");
    JsonNode s3 = r.agentConfigTree().at("/storage/s3");
    assertEquals("s3", r.agentConfigTree().at("/storage/type").asText());
    assertEquals("db1-backups", s3.path("bucket").asText());
    assertEquals("default", s3.path("auth").asText());
    assertEquals("aws-kms", s3.path("server-side-encryption").asText());
    assertEquals("STANDARD_IA", s3.path("storage-class").asText());
    assertTrue(r.agentConfigTree().at("/storage/azure").isMissingNode(), "no azure keys with s3");
    for (String c : List.of("restore-init", "agent")) {
      for (JsonNode e : r.container(c).path("env")) {
        assertFalse(e.path("name").asText().startsWith("AWS_"), c + ": " + e
            + " (IRSA's variables are the webhook's to set)");
      }
    }
    String notAnArn = Rendered.failureOf("serviceAccount.awsRoleArn=pgsidecar-db1");
    assertTrue(notAnArn.contains("awsRoleArn"), "values schema: a role name is not an ARN: " + notAnArn);
  }

  @Test
  void s3KeyPairIsTwoFilesMountedFromTheNamedSecret() {
    Rendered r = Rendered.with(ValueSets.ALL.get("S3-compatible with keys from an existing Secret"));
    JsonNode secret = r.volume("storage-secret").path("secret");
    assertEquals("hetzner", secret.path("secretName").asText());
    assertEquals(List.of("id", "secret"), list(secret.path("items")).stream()
        .map(i -> i.path("key").asText()).toList());
    assertEquals(List.of("id", "secret"), list(secret.path("items")).stream()
        .map(i -> i.path("path").asText()).toList());
    for (String c : List.of("restore-init", "agent")) {
      assertEquals("/etc/pgsidecar/storage", mountPath(r.container(c), "storage-secret"), c);
    }
    assertNull(mountPath(r.container("postgres"), "storage-secret"), "PostgreSQL never sees the key pair");
    JsonNode s3 = r.agentConfigTree().at("/storage/s3");
    assertEquals("https://fsn1.your-objectstorage.com", s3.path("endpoint").asText());
    assertTrue(s3.path("path-style").asBoolean());
    assertEquals("/etc/pgsidecar/storage/id", s3.path("access-key-id-file").asText());
    assertEquals("/etc/pgsidecar/storage/secret", s3.path("secret-access-key-file").asText());
    assertTrue(r.one("ServiceAccount").at("/metadata/annotations").isMissingNode(), "no IRSA role");
  }

  @Test
  void s3ValuesThatCannotWorkStopTheRenderSayingWhatToSet() {
    assertTrue(Rendered.failureOf(ValueSets.S3).contains(
        "storage.s3.bucket is required when storage.type is s3"), Rendered.failureOf(ValueSets.S3));
    assertTrue(Rendered.failureOf(ValueSets.S3, ValueSets.BUCKET, "storage.s3.auth=static").contains(
        "storage.s3.existingSecret is required when storage.s3.auth is static: name an existing Secret"
        + " holding the key pair under the keys \"access-key-id\" and \"secret-access-key\""));
    assertTrue(Rendered.failureOf(ValueSets.S3, ValueSets.BUCKET, ValueSets.ROLE_ARN,
        "storage.s3.auth=static", "storage.s3.existingSecret=keys").contains(
        "serviceAccount.awsRoleArn (IRSA) and storage.s3.auth static exclude each other"));
    assertTrue(Rendered.failureOf(ValueSets.S3, ValueSets.BUCKET, "storage.s3.kmsKeyId=k").contains(
        "storage.s3.kmsKeyId is set but storage.s3.serverSideEncryption is none"));
    for (String bad : List.of("storage.s3.bucket=Db1_Backups", "storage.s3.endpoint=fsn1.example",
        "storage.s3.serverSideEncryption=kms", "storage.s3.secretAccessKey=abc")) {
      String message = Rendered.failureOf(ValueSets.S3, bad);
      assertTrue(message.contains(bad.substring("storage.s3.".length(), bad.indexOf('='))), bad + " -> " + message);
    }
  }

  @Test
  void connectionStringReachesTheAgentOnlyAsAnEnvironmentVariableFromTheSecret() {
    Rendered r = Rendered.with("storage.azure.auth=connection-string", "storage.azure.existingSecret=azurite");
    for (String c : List.of("restore-init", "agent")) {
      JsonNode ref = env(r.container(c), "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING").at("/valueFrom/secretKeyRef");
      assertEquals("azurite", ref.path("name").asText(), c);
      assertEquals("connection-string", ref.path("key").asText(), c);
    }
    assertTrue(env(r.container("postgres"), "PGSIDECAR_STORAGE_AZURE_CONNECTION_STRING").isMissingNode());
    assertTrue(r.agentConfigTree().at("/storage/azure/connection-string").isMissingNode());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("io.pgsidecar.charts.ValueSets#all")
  void noSecretObjectAndNoSecretValueIsRendered(String name, String[] sets) {
    Rendered r = Rendered.with(sets);
    assertEquals(List.of(), r.ofKind("Secret"), name + ": the chart never makes a Secret");
    for (JsonNode c : r.allContainers()) {
      for (JsonNode e : c.path("env")) {
        String var = e.path("name").asText();
        if (var.contains("PASSWORD") || var.contains("CONNECTION_STRING") || var.contains("KEY") || var.contains("TOKEN")) {
          assertTrue(e.path("value").isMissingNode(), name + ": " + var + " must come from a Secret");
        }
      }
    }
  }

  @Test
  void valuesHaveNoPlaceForASecretAndRejectTypos() {
    Map<String, String> refused = Map.of("storage.azure.sasToken=sv=2024&sig=abc", "sasToken",
        "storage.azure.connectionString=x", "connectionString", "postgresql.auth.password=hunter2", "password",
        "encryption.passphrase=x", "passphrase", "storage.azure.acount=x", "acount",
        "backup.shedule=0 1 * * *", "shedule", "metrics.podmonitor.enabled=false", "podmonitor");
    refused.forEach((set, key) -> {
      String message = Rendered.failureOf(set);
      assertTrue(message.contains("additional properties '" + key + "' not allowed"), set + " -> " + message);
    });
  }

  /** The agent refuses a cluster name that starts with a dot at start; the chart says so first. */
  @Test
  void clusterNamesStartingWithADotAreRefusedAtRender() {
    for (String name : List.of(".hidden", "..", "a/b")) {
      String message = Rendered.failureOf("cluster=" + name);
      assertTrue(message.contains("cluster") && message.contains("does not match pattern"),
          name + " -> " + message);
    }
    assertEquals(1, Rendered.with("cluster=db_1.eu-west").ofKind("StatefulSet").size());
  }

  @Test
  void metricsOffRendersNoMonitoringObjects() {
    Rendered on = Rendered.with();
    for (String kind : List.of("PodMonitor", "PrometheusRule")) {
      assertEquals(1, on.ofKind(kind).size(), kind);
    }
    assertEquals(List.of("db1-pgsidecar", "db1-pgsidecar-dashboard"),
        on.ofKind("ConfigMap").stream().map(c -> c.at("/metadata/name").asText()).sorted().toList());
    assertEquals(List.of("db1-pgsidecar", "db1-pgsidecar-metrics"),
        on.ofKind("Service").stream().map(c -> c.at("/metadata/name").asText()).sorted().toList());
    Rendered off = Rendered.with("metrics.enabled=false");
    assertEquals(List.of(), off.ofKind("PodMonitor"));
    assertEquals(List.of(), off.ofKind("PrometheusRule"));
    assertEquals(List.of("db1-pgsidecar"), off.ofKind("ConfigMap").stream().map(c -> c.at("/metadata/name").asText()).toList(),
        "only the agent's config, no dashboard");
    assertEquals(List.of("db1-pgsidecar"), off.ofKind("Service").stream().map(c -> c.at("/metadata/name").asText()).toList(),
        "only the headless Service");
    assertEquals(1, off.one("NetworkPolicy").at("/spec/ingress").size(), "no metrics rule");
    assertEquals(List.of(), Rendered.with("metrics.podMonitor.enabled=false").ofKind("PodMonitor"));
    assertEquals(List.of(), Rendered.with("metrics.prometheusRule.enabled=false").ofKind("PrometheusRule"));
    assertEquals(List.of(), Rendered.with("networkPolicy.enabled=false").ofKind("NetworkPolicy"));
  }

  @Test
  void podMonitorScrapesTheAgentsMetricsPort() {
    Rendered r = Rendered.with("metrics.podMonitor.labels.release=kube-prometheus");
    JsonNode pm = r.one("PodMonitor");
    assertEquals("metrics", pm.at("/spec/podMetricsEndpoints/0/port").asText());
    assertEquals("/metrics", pm.at("/spec/podMetricsEndpoints/0/path").asText());
    assertEquals("kube-prometheus", pm.at("/metadata/labels/release").asText());
    assertEquals(r.one("StatefulSet").at("/spec/selector/matchLabels"), pm.at("/spec/selector/matchLabels"));
    assertEquals(List.of("db"), list(pm.at("/spec/namespaceSelector/matchNames")).stream().map(JsonNode::asText).toList());
  }

  @Test
  void onlyTheMonitoringNamespaceReachesTheMetricsPort() {
    JsonNode ingress = Rendered.with("networkPolicy.monitoringNamespace=observability").one("NetworkPolicy").at("/spec/ingress");
    assertEquals(2, ingress.size());
    assertEquals("postgresql", ingress.at("/0/ports/0/port").asText());
    assertTrue(ingress.at("/0/from").isMissingNode(), "PostgreSQL from anywhere by default");
    assertEquals("metrics", ingress.at("/1/ports/0/port").asText());
    assertEquals(1, ingress.at("/1/from").size());
    assertEquals("observability", ingress.at("/1/from/0/namespaceSelector/matchLabels").path("kubernetes.io/metadata.name").asText());
  }

  @Test
  void restoreSettingsReachRestoreInitAndAtMostOneTargetIsAccepted() {
    JsonNode restore = Rendered.with("restore.enabled=true", "restore.targetTime=2026-11-22T02:15:00Z",
        "restore.fromCluster=olddb").agentConfigTree().path("restore");
    assertTrue(restore.path("enabled").asBoolean());
    assertEquals("2026-11-22T02:15:00Z", restore.path("target-time").asText());
    assertEquals("olddb", restore.path("from-cluster").asText());
    assertEquals("/pgsidecar/bin/wal-archiver", restore.path("wal-archiver").asText());
    assertFalse(Rendered.with().agentConfigTree().at("/restore/enabled").asBoolean(true), "off by default");
    assertTrue(Rendered.failureOf("restore.targetTime=2026-11-22T02:15:00Z", "restore.targetName=before-migration")
        .contains("at most one of targetTime, targetName, targetLsn, targetXid and targetImmediate"));
  }

  @Test
  void filesystemStorageMountsTheRepositoryWhereTheConfigSaysItIs() {
    Rendered r = Rendered.with("storage.type=filesystem");
    assertEquals("/var/lib/pgsidecar/repository", r.agentConfigTree().at("/storage/path").asText());
    assertEquals("fs", r.agentConfigTree().at("/storage/type").asText());
    List<JsonNode> claims = list(r.one("StatefulSet").at("/spec/volumeClaimTemplates"));
    assertEquals(List.of("data", "repository"), claims.stream().map(c -> c.at("/metadata/name").asText()).toList());
    assertEquals("50Gi", claims.get(1).at("/spec/resources/requests/storage").asText());
    for (String c : List.of("restore-init", "agent")) {
      assertEquals("/var/lib/pgsidecar/repository", mountPath(r.container(c), "repository"), c);
    }
    Rendered existing = Rendered.with("storage.type=filesystem", "storage.filesystem.existingClaim=backups");
    assertEquals("backups", existing.volume("repository").at("/persistentVolumeClaim/claimName").asText());
    assertEquals(1, existing.one("StatefulSet").at("/spec/volumeClaimTemplates").size());
    assertFalse(r.one("StatefulSet").at("/spec/template/metadata/labels").has("azure.workload.identity/use"));
  }

  @Test
  void postgresEnvironmentComesFromTheNamedSecretAndTheAgentUsesTheSameRole() {
    Rendered r = Rendered.with("postgresql.auth.existingSecret=db1-credentials");
    assertEquals("db1-credentials", r.container("postgres").at("/envFrom/0/secretRef/name").asText());
    for (String c : List.of("restore-init", "agent")) {
      JsonNode password = env(r.container(c), "PGSIDECAR_POSTGRES_PASSWORD").at("/valueFrom/secretKeyRef");
      assertEquals("db1-credentials", password.path("name").asText());
      assertEquals("POSTGRES_PASSWORD", password.path("key").asText());
      JsonNode user = env(r.container(c), "PGSIDECAR_POSTGRES_USER").at("/valueFrom/secretKeyRef");
      assertEquals("POSTGRES_USER", user.path("key").asText());
      assertTrue(user.path("optional").asBoolean(), "POSTGRES_USER may be absent (then postgres)");
    }
    assertEquals("db1-pgsidecar-postgres", Rendered.with().container("postgres").at("/envFrom/0/secretRef/name").asText());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("io.pgsidecar.charts.ValueSets#all")
  void everyObjectCarriesTheStandardLabels(String name, String[] sets) {
    for (JsonNode o : Rendered.with(sets).objects) {
      JsonNode labels = o.at("/metadata/labels");
      for (String l : List.of("name", "instance", "version", "component", "managed-by")) {
        assertFalse(labels.path("app.kubernetes.io/" + l).asText().isEmpty(),
            name + ": " + o.path("kind").asText() + " lacks app.kubernetes.io/" + l);
      }
      assertEquals("db", o.at("/metadata/namespace").asText(), name + ": " + o.path("kind").asText());
    }
  }

  @Test
  void aChangedConfigurationRollsThePod() {
    String before = Rendered.with().one("StatefulSet").at("/spec/template/metadata/annotations").path("checksum/config").asText();
    String after = Rendered.with("restore.enabled=true").one("StatefulSet").at("/spec/template/metadata/annotations")
        .path("checksum/config").asText();
    assertEquals(64, before.length());
    assertFalse(before.equals(after), "restore-init reads its settings only when the pod starts");
  }

  private static JsonNode env(JsonNode container, String name) {
    for (JsonNode e : container.path("env")) {
      if (name.equals(e.path("name").asText())) {
        return e;
      }
    }
    return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
  }

  private static JsonNode mount(JsonNode container, String volume) {
    for (JsonNode m : container.path("volumeMounts")) {
      if (volume.equals(m.path("name").asText())) {
        return m;
      }
    }
    throw new AssertionError("no mount of " + volume + " in " + container.path("name"));
  }
}
