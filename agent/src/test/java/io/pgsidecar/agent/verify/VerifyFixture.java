package io.pgsidecar.agent.verify;

import io.pgsidecar.agent.backup.BackupService;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.io.DigestingInputStream;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the verification tests share: a cluster whose archive_command copies into a directory,
 * a shipper that stores those files in a repository as the agent's WAL push would (encoded, with
 * the plain SHA-256 in the metadata), the agent's own {@link BackupService} to take real base
 * backups, and settings that run the scratch server as the postgres user.
 */
final class VerifyFixture {

  static final RepositoryLayout LAYOUT = new RepositoryLayout("test", "db1");

  private VerifyFixture() {}

  /** A directory the postgres user can enter and write (tests run as root). */
  static Path sharedDir(String prefix) {
    try {
      Path dir = Files.createTempDirectory(prefix);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      new ProcessBuilder("chown", "postgres:postgres", dir.toString()).inheritIO().start().waitFor();
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static PostgresCluster archivingCluster(Path dir) {
    return archivingCluster(dir, 0);
  }

  /** The same with initdb {@code --wal-segsize=walSegsizeMb} (0: PostgreSQL's default). */
  static PostgresCluster archivingCluster(Path dir, int walSegsizeMb) {
    return PostgresCluster.builder()
        .walSegsizeMb(walSegsizeMb)
        .setting("archive_mode", "on")
        .setting("archive_command", "test ! -f " + dir + "/%f && cp %p " + dir + "/%f.tmp && mv "
            + dir + "/%f.tmp " + dir + "/%f")
        .setting("max_wal_senders", "4")
        .build();
  }

  static BackupService backups(PostgresCluster pg, Storage storage, CodecPipeline pipeline) {
    return new BackupService(LAYOUT, storage, pipeline, new PgsidecarConfig.Postgres("127.0.0.1",
        pg.port(), "postgres", "postgres", Optional.empty(), pg.binDir()),
        new PgsidecarConfig.Backup(Duration.ofSeconds(90), Duration.ofSeconds(5)),
        Clock.systemUTC());
  }

  /** What a test does with a {@link BackupService} while the WAL is being shipped. */
  interface WithBackups<T> {
    T run(BackupService backups) throws Exception;
  }

  /**
   * Runs {@code body} with a backup service of {@code pg} while a {@link Shipper} stores what
   * archive_command copies to {@code archive}; stops the shipper afterwards, whatever happened.
   */
  static <T> T whileShipping(PostgresCluster pg, Path archive, Storage storage,
      CodecPipeline pipeline, WithBackups<T> body) throws Exception {
    Thread shipping = new Shipper(archive, storage, pipeline).loop();
    try (BackupService backups = backups(pg, storage, pipeline)) {
      return body.run(backups);
    } finally {
      shipping.interrupt();
      shipping.join();
    }
  }

  /** What a pgsidecar command printed and its exit code. */
  record Run(int code, String out, String err) {}

  /**
   * {@code pgsidecar args} through the CLI, in this process, on the filesystem repository
   * {@code repo} (prefix {@code test}, cluster {@code db1}) with {@code pg}'s binaries and
   * {@code work} as the verify scratch directory.
   */
  static Run cli(PostgresCluster pg, Path repo, Path work, String... args) {
    Map<String, String> env = Map.of("PGSIDECAR_CLUSTER", "db1", "PGSIDECAR_STORAGE_PATH",
        repo.toString(), "PGSIDECAR_STORAGE_PREFIX", "test", "PGSIDECAR_POSTGRES_BIN_DIR",
        pg.binDir().toString(), "PGSIDECAR_VERIFY_WORK_DIR", work.toString(),
        "PGSIDECAR_POSTGRES_USER", "postgres");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = io.pgsidecar.agent.cli.Main.execute(args, env, new PrintWriter(out),
        new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  static VerifySettings settings(PostgresCluster pg, Path workDir, String probe) {
    return new VerifySettings(workDir, pg.binDir(), Optional.of("postgres"), "postgres",
        "postgres", probe, Duration.ofSeconds(180));
  }

  /** Stores every file archive_command copied so far that is not stored yet. */
  static final class Shipper {
    private final Path archive;
    private final Storage storage;
    private final CodecPipeline pipeline;
    private final Set<String> shipped = new HashSet<>();

    Shipper(Path archive, Storage storage, CodecPipeline pipeline) {
      this.archive = archive;
      this.storage = storage;
      this.pipeline = pipeline;
    }

    /** Runs {@link #shipNew} every 50 ms on a virtual thread until interrupted. */
    Thread loop() {
      return Thread.ofVirtual().name("test-wal-shipper").start(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          try {
            shipNew();
            Thread.sleep(50);
          } catch (InterruptedException e) {
            return;
          } catch (IOException e) {
            // try again, as PostgreSQL retries archive_command
          }
        }
      });
    }

    synchronized List<String> shipNew() throws IOException {
      List<String> names = new java.util.ArrayList<>();
      try (var files = Files.list(archive)) {
        for (Path f : (Iterable<Path>) files.sorted()::iterator) {
          String name = f.getFileName().toString();
          if (name.endsWith(".tmp") || !shipped.add(name)) {
            continue;
          }
          byte[] plain = Files.readAllBytes(f);
          var encoded = new ByteArrayOutputStream();
          try (OutputStream enc = pipeline.encode(encoded)) {
            enc.write(plain);
          }
          var d = DigestingInputStream.sha256();
          String sha = HexFormat.of().formatHex(d.digest(plain));
          try {
            storage.create(LAYOUT.walKey(name, pipeline.suffix()),
                new ByteArrayInputStream(encoded.toByteArray()),
                () -> new ObjectMetadata(sha, plain.length, pipeline.name(), ""));
          } catch (ObjectExistsException e) {
            // shipped before
          }
          names.add(name);
        }
      }
      return names;
    }
  }
}
