package io.pgsidecar.e2e;

import static io.pgsidecar.e2e.KubeletSim.waitUntil;
import static io.pgsidecar.e2e.PodDrillTest.awaitArchived;
import static io.pgsidecar.e2e.PodDrillTest.connect;
import static io.pgsidecar.e2e.PodDrillTest.exec;
import static io.pgsidecar.e2e.PodDrillTest.insert;
import static io.pgsidecar.e2e.PodDrillTest.queryBool;
import static io.pgsidecar.e2e.PodDrillTest.queryInstant;
import static io.pgsidecar.e2e.PodDrillTest.queryLong;
import static io.pgsidecar.e2e.PodDrillTest.switchWal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The pod drill of {@link PodDrillTest} on a Docker engine, with the real {@code postgres:15}
 * image and ours (target/images/pgsidecar.oci.tar, copied into the engine by skopeo): the rendered
 * StatefulSet's containers are started in its order (init containers to completion, the agent as
 * the sidecar whose network namespace the others join, as in a pod), with the rendered commands,
 * environment, users, read-only roots and volumes (bind mounts of host directories). On an empty
 * volume the official entrypoint initialises PGDATA, WAL is archived through the image's client
 * and a base backup is taken; the pod goes, its volume is wiped, and it comes back with restore
 * values holding the rows as of the target time. The repository is the chart's filesystem
 * storage, so no Azure emulator has to be reachable from the containers; Prometheus, the alert
 * and readiness during an outage are PodDrillTest's.
 *
 * <p>Where no Docker engine is reachable (this project's CI machine has the docker CLI and no
 * daemon; containers cannot run there at all), the test is skipped and says so.
 */
class PodDrillDockerTest {

  private static final String TAG = "localhost/pgsidecar:drill-docker";
  private static final String POSTGRES = "postgres:15";
  private static final Duration INIT_TIMEOUT = Duration.ofMinutes(3);

  @TempDir
  Path work;

  private final Map<String, Long> timings = new LinkedHashMap<>();

  @Test
  void podOnTheRealPostgresImageArchivesBacksUpAndRestoresToATime() throws Exception {
    assumeTrue(DockerClientFactory.instance().isDockerAvailable(),
        "no Docker engine is reachable (DOCKER_HOST, /var/run/docker.sock): the drill on the real postgres:15"
            + " image is skipped; PodDrillTest plays the same chart and image with KubeletSim");
    KubeletSim.pgsidecarImage(); // builds target/images/pgsidecar.oci.tar when stale
    Path archive = KubeletSim.repoRoot().resolve("target/images/pgsidecar.oci.tar");
    KubeletSim.run(List.of("skopeo", "copy", "--quiet", "oci-archive:" + archive, "docker-daemon:" + TAG),
        Duration.ofMinutes(5));

    String password = "pw-" + UUID.randomUUID();
    Map<String, Map<String, String>> secrets = Map.of("db1-pgsidecar-postgres",
        Map.of("POSTGRES_PASSWORD", password, "POSTGRES_USER", "shopadmin", "POSTGRES_DB", "shop"));
    List<String> values = new ArrayList<>(List.of(
        "image.repository=localhost/pgsidecar", "image.tag=drill-docker",
        "postgresql.image.repository=postgres", "postgresql.image.tag=15",
        "storage.type=filesystem", "backup.schedule=0 0 1 1 *", "dump.schedule="));
    Path claims = Files.createDirectories(work.resolve("claims"));

    long t = System.nanoTime();
    Instant targetTime;
    try (var pod = DockerPod.start(KubeletSim.render(values), secrets, claims, work.resolve("pod1"))) {
      took("pod start on an empty volume (initdb by the official entrypoint)", t);
      try (Connection db = connect(pod.postgresPort(), password)) {
        exec(db, "CREATE TABLE orders (id int PRIMARY KEY, batch text NOT NULL)");
        insert(db, 1, 100, "before-backup");
        t = System.nanoTime();
        awaitArchived(db, switchWal(db));
        took("WAL segment archived through the image's WAL client", t);
        assertEquals(0, queryLong(db, "SELECT failed_count FROM pg_stat_archiver"), "archive_command failures");
        t = System.nanoTime();
        var backup = pod.agent.execInContainer("/opt/pgsidecar/bin/pgsidecar", "backup", "create", "--wait");
        assertEquals(0, backup.getExitCode(), backup.getStdout() + backup.getStderr());
        took("base backup (pgsidecar backup create --wait in the agent container)", t);
        insert(db, 101, 50, "before-target");
        Instant committed = queryInstant(db, "SELECT clock_timestamp()");
        targetTime = committed.truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
        waitUntil(Duration.ofSeconds(5), "the server's clock past the target time",
            () -> queryInstant(db, "SELECT clock_timestamp()").isAfter(targetTime));
        insert(db, 151, 25, "after-target");
        awaitArchived(db, switchWal(db));
      }
      t = System.nanoTime();
    }
    took("pod deleted", t);
    KubeletSim.deleteTree(claims.resolve("data"));

    List<String> restoreValues = new ArrayList<>(values);
    restoreValues.addAll(List.of("restore.enabled=true", "restore.targetTime=" + targetTime));
    t = System.nanoTime();
    try (var pod = DockerPod.start(KubeletSim.render(restoreValues), secrets, claims, work.resolve("pod2"));
        Connection db = connect(pod.postgresPort(), password)) {
      waitUntil(Duration.ofSeconds(120), "the restored server to promote",
          () -> !queryBool(db, "SELECT pg_is_in_recovery()"));
      took("restore to the target time (pod start to promoted)", t);
      assertEquals(100, queryLong(db, "SELECT count(*) FROM orders WHERE batch = 'before-backup'"));
      assertEquals(50, queryLong(db, "SELECT count(*) FROM orders WHERE batch = 'before-target'"));
      assertEquals(0, queryLong(db, "SELECT count(*) FROM orders WHERE batch = 'after-target'"));
    } finally {
      System.out.println("pod drill (Docker) timings:");
      timings.forEach((what, ms) -> System.out.printf("  %-70s %6d ms%n", what, ms));
    }
  }

  private void took(String what, long startNanos) {
    timings.put(what, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
  }

  /**
   * The rendered StatefulSet's pod on the Docker engine: init containers run to completion in
   * order, the agent (native sidecar) starts next and holds the pod's network namespace (its
   * ports are the ones published), PostgreSQL joins it. Persistent volumes are directories under
   * {@code claims} (kept across pods), emptyDirs and the ConfigMap under {@code dir}.
   */
  static final class DockerPod implements AutoCloseable {
    private final List<GenericContainer<?>> started = new ArrayList<>();
    GenericContainer<?> agent;
    private int pgPort;

    int postgresPort() {
      return agent.getMappedPort(pgPort);
    }

    static DockerPod start(List<JsonNode> objects, Map<String, Map<String, String>> secrets, Path claims,
        Path dir) throws Exception {
      var pod = new DockerPod();
      try {
        pod.run(objects, secrets, claims, dir);
      } catch (Exception | Error e) {
        pod.close();
        throw e;
      }
      return pod;
    }

    private void run(List<JsonNode> objects, Map<String, Map<String, String>> secrets, Path claims, Path dir)
        throws Exception {
      JsonNode spec = KubeletSim.object(objects, "StatefulSet").path("spec").path("template").path("spec");
      Map<String, Path> volumes = new HashMap<>();
      for (JsonNode v : spec.path("volumes")) {
        Path p = open(dir.resolve("volumes").resolve(v.path("name").asText()));
        volumes.put(v.path("name").asText(), p);
        if (v.has("configMap")) {
          String name = v.path("configMap").path("name").asText();
          for (JsonNode o : objects) {
            if (o.path("kind").asText().equals("ConfigMap") && o.path("metadata").path("name").asText().equals(name)) {
              for (var e : o.path("data").properties()) {
                Files.writeString(p.resolve(e.getKey()), e.getValue().asText());
              }
            }
          }
        }
      }
      for (JsonNode claim : KubeletSim.object(objects, "StatefulSet").path("spec").path("volumeClaimTemplates")) {
        String name = claim.path("metadata").path("name").asText();
        volumes.put(name, open(claims.resolve(name)));
      }
      JsonNode pgContainer = null;
      for (JsonNode c : spec.path("initContainers")) {
        boolean sidecar = c.path("restartPolicy").asText().equals("Always");
        GenericContainer<?> g = container(c, spec, secrets, volumes);
        if (sidecar) {
          agent = g;
          pgPort = findPort(spec.path("containers"), "postgresql");
          int metrics = findPort(spec.path("initContainers"), "metrics");
          g.withExposedPorts(metrics, pgPort).waitingFor(Wait.forHttp(
              c.at("/startupProbe/httpGet/path").asText("/healthz")).forPort(metrics)
              .withStartupTimeout(INIT_TIMEOUT));
        } else {
          g.withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(INIT_TIMEOUT));
        }
        g.start();
        started.add(g);
      }
      for (JsonNode c : spec.path("containers")) {
        if (c.path("name").asText().equals("agent")) {
          throw new IllegalStateException("render with agent.nativeSidecar=true (the default)");
        }
        pgContainer = c;
      }
      GenericContainer<?> pg = container(pgContainer, spec, secrets, volumes)
          .withNetworkMode("container:" + agent.getContainerId())
          .waitingFor(Wait.forLogMessage(".*database system is ready to accept connections.*\\n", 1)
              .withStartupTimeout(INIT_TIMEOUT));
      pg.start();
      started.add(pg);
      waitUntil(INIT_TIMEOUT, "postgres accepting connections on the pod's port", () -> {
        try {
          java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + postgresPort() + "/postgres", "x", "x")
              .close();
          return true;
        } catch (java.sql.SQLException e) {
          return e.getSQLState() != null && e.getSQLState().startsWith("28"); // auth refused: it listens
        }
      });
    }

    private static int findPort(JsonNode containers, String name) {
      for (JsonNode c : containers) {
        for (JsonNode p : c.path("ports")) {
          if (p.path("name").asText().equals(name)) {
            return p.path("containerPort").asInt();
          }
        }
      }
      throw new IllegalStateException("no port named " + name + " in the rendered pod");
    }

    /** A volume's directory: open to the containers' users, as an emptyDir with fsGroup is. */
    private static Path open(Path p) throws Exception {
      Files.createDirectories(p);
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));
      return p;
    }

    private GenericContainer<?> container(JsonNode c, JsonNode podSpec, Map<String, Map<String, String>> secrets,
        Map<String, Path> volumes) {
      GenericContainer<?> g = new GenericContainer<>(DockerImageName.parse(c.path("image").asText()));
      Map<String, String> env = new LinkedHashMap<>();
      for (JsonNode from : c.path("envFrom")) {
        env.putAll(secrets.getOrDefault(from.path("secretRef").path("name").asText(), Map.of()));
      }
      for (JsonNode e : c.path("env")) {
        JsonNode ref = e.path("valueFrom").path("secretKeyRef");
        String value = e.has("value") ? e.path("value").asText()
            : secrets.getOrDefault(ref.path("name").asText(), Map.of()).get(ref.path("key").asText());
        if (value != null) {
          env.put(e.path("name").asText(), value);
        }
      }
      g.withEnv(env);
      for (JsonNode m : c.path("volumeMounts")) {
        Path host = volumes.get(m.path("name").asText());
        if (host == null) {
          throw new IllegalStateException("volume " + m.path("name").asText() + " is not in the rendered pod");
        }
        g.withFileSystemBind(host.toString(), m.path("mountPath").asText(),
            m.path("readOnly").asBoolean() ? BindMode.READ_ONLY : BindMode.READ_WRITE);
      }
      JsonNode podSec = podSpec.path("securityContext");
      JsonNode sec = c.path("securityContext");
      String user = sec.path("runAsUser").asText(podSec.path("runAsUser").asText("")) + ":"
          + sec.path("runAsGroup").asText(podSec.path("runAsGroup").asText(""));
      List<String> command = KubeletSim.strings(c.path("command"));
      List<String> args = KubeletSim.strings(c.path("args"));
      boolean readOnly = sec.path("readOnlyRootFilesystem").asBoolean();
      String fsGroup = podSec.path("fsGroup").asText("");
      g.withCreateContainerCmdModifier(cmd -> {
        if (!command.isEmpty()) {
          cmd.withEntrypoint(command);
        }
        if (!args.isEmpty()) {
          cmd.withCmd(args);
        } else if (!command.isEmpty()) {
          cmd.withCmd(List.of());
        }
        if (!user.equals(":")) {
          cmd.withUser(user);
        }
        cmd.getHostConfig().withReadonlyRootfs(readOnly).withCapDrop(com.github.dockerjava.api.model.Capability.ALL)
            .withSecurityOpts(List.of("no-new-privileges"));
        if (!fsGroup.isEmpty()) {
          cmd.getHostConfig().withGroupAdd(List.of(fsGroup));
        }
      });
      return g;
    }

    @Override
    public void close() {
      for (int i = started.size() - 1; i >= 0; i--) {
        started.get(i).stop(); // reverse order: PostgreSQL first, the sidecar after it
      }
      started.clear();
    }
  }
}
