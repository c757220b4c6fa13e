package io.pgsidecar.agent.support;

import io.pgsidecar.agent.Sidecar;
import io.pgsidecar.agent.cli.Main;
import io.pgsidecar.core.config.ConfigLoader;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A pod played on this machine with nothing faked: a real PostgreSQL 15 whose archive_command is
 * the real {@code bin/wal-archiver} launcher (its curl path over the hook socket), the real agent
 * ({@link Sidecar}, opened from a YAML file by the same loader as {@code pgsidecar agent}) storing
 * into a filesystem repository or an Azurite container, and the {@code pgsidecar} CLI run against
 * the same YAML file. The test runs as root and PostgreSQL as {@code postgres}: the hook socket
 * gets the group {@code postgres}, and the work directory is opened for it.
 */
public final class ArchivingPod implements AutoCloseable {

  /** Surefire runs in agent/: the launchers live at the repository root. */
  public static final Path REPOSITORY = Path.of("..").toAbsolutePath().normalize();

  /** What one {@code pgsidecar} command line did. */
  public record Cli(int code, String out, String err) {}

  private final Path work;
  private final String storageYaml;
  private final Path hook;
  private final Path yaml;
  private PostgresCluster pg;
  private Sidecar agent;

  private ArchivingPod(Path work, String storageYaml) {
    this.work = work;
    this.storageYaml = storageYaml;
    this.hook = work.resolve("run/agent.sock");
    this.yaml = work.resolve("pgsidecar.yaml");
  }

  /** A pod archiving into {@code work/repo}. */
  public static ArchivingPod filesystem(Path work) throws IOException {
    Path repo = Files.createDirectories(work.resolve("repo"));
    return new ArchivingPod(work, """
        storage:
          type: fs
          prefix: prod
          path: %s
        """.formatted(repo));
  }

  /** A pod archiving into a fresh container of {@code azurite}; storage failures fail fast. */
  public static ArchivingPod azure(Path work, Azurite azurite, String container) throws IOException {
    Path key = azurite.writeKeyFile(work.resolve("azure.key"));
    return new ArchivingPod(work, """
        storage:
          type: azure
          prefix: prod
          timeout: 3s
          retries: 0
          azure:
            auth: shared-key
            endpoint: %s
            account: %s
            key-file: %s
            container: %s
        """.formatted(azurite.endpoint(), Azurite.ACCOUNT, key, azurite.createContainer(container)));
  }

  /** Starts PostgreSQL (archiving through bin/wal-archiver) and the agent. */
  public ArchivingPod start() throws IOException {
    openToPostgres(work);
    pg = PostgresCluster.builder()
        .setting("archive_mode", "on")
        .setting("archive_command", "PGSIDECAR_SOCKET=" + hook + " "
            + REPOSITORY.resolve("bin/wal-archiver") + " push %p")
        .setting("checkpoint_timeout", "1h")
        .build().start();
    Files.writeString(yaml, """
        cluster: db1
        pgdata: %s
        socket: %s
        http:
          admin-socket: %s
          socket-group: postgres
          socket-mode: "0660"
        postgres:
          host: 127.0.0.1
          port: %d
          user: postgres
          bin-dir: %s
        %swal:
          spool-dir: %s
        metrics:
          port: 0
        """.formatted(pg.pgdata(), hook, work.resolve("admin.sock"), pg.port(), pg.binDir(),
        storageYaml, work.resolve("spool")));
    startAgent();
    return this;
  }

  /** Starts the agent (again) from the YAML file. */
  public void startAgent() throws IOException {
    agent = Sidecar.open(config());
    agent.start();
  }

  /** Stops the agent; PostgreSQL keeps running. */
  public void stopAgent() {
    if (agent != null) {
      agent.close();
      agent = null;
    }
  }

  public PgsidecarConfig config() {
    return ConfigLoader.load(Optional.of(yaml), Map.of());
  }

  public PostgresCluster postgres() {
    return pg;
  }

  public Sidecar agent() {
    return agent;
  }

  public Path yaml() {
    return yaml;
  }

  public Path work() {
    return work;
  }

  /** {@code pgsidecar --config <the pod's YAML> args...} in this process, no PGSIDECAR_* variables. */
  public Cli cli(String... args) {
    List<String> all = new ArrayList<>(List.of("--config", yaml.toString()));
    all.addAll(List.of(args));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(all.toArray(String[]::new), Map.of(), new PrintWriter(out),
        new PrintWriter(err));
    return new Cli(code, out.toString(), err.toString());
  }

  /** PostgreSQL first: its archiver's last round needs the agent while the server stops. */
  @Override
  public void close() {
    try {
      if (pg != null) {
        pg.close();
      }
    } finally {
      stopAgent();
    }
  }

  /** {@code ALTER SYSTEM SET name = value}, reloaded; returns once new sessions see it. */
  public void set(String name, String value) {
    pg.sql("ALTER SYSTEM SET " + name + " = '" + value.replace("'", "''") + "'");
    pg.sql("SELECT pg_reload_conf()");
    io.pgsidecar.testkit.Waits.until(java.time.Duration.ofSeconds(60),
        java.time.Duration.ofMillis(100), () -> value.equals(pg.sql("SHOW " + name)));
  }

  /** Lets postgres traverse from the temp dir down to {@code dir} (a JUnit temp dir is 0700). */
  private static void openToPostgres(Path dir) throws IOException {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    for (Path p = dir; p != null && p.startsWith(tmp) && !p.equals(tmp); p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }
}
