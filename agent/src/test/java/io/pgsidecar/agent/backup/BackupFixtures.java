package io.pgsidecar.agent.backup;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Shared pieces of the base backup tests: a cluster that archives, config, verification. */
final class BackupFixtures {

  static final RepositoryLayout LAYOUT = new RepositoryLayout("test", "db1");

  private BackupFixtures() {}

  /** A directory the postgres user can write, for archive_command's copies. */
  static Path archiveDir() {
    try {
      Path dir = Files.createTempDirectory("pgsidecar-archive-");
      chownToPostgres(dir);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void chownToPostgres(Path dir) throws IOException {
    run(List.of("chown", "-R", "postgres:postgres", dir.toString()), null);
  }

  /** archive_command copying into {@code dir} atomically (the WalShipper takes it from there). */
  static PostgresCluster.Builder archivingCluster(Path dir) {
    return PostgresCluster.builder()
        .setting("archive_mode", "on")
        .setting("archive_command", "test ! -f " + dir + "/%f && cp %p " + dir + "/%f.tmp && mv "
            + dir + "/%f.tmp " + dir + "/%f")
        .setting("max_wal_senders", "4");
  }

  static PgsidecarConfig.Postgres postgres(PostgresCluster pg, String user, int port) {
    return new PgsidecarConfig.Postgres("127.0.0.1", port, user, "postgres", Optional.empty(),
        pg.binDir());
  }

  static BackupService service(PostgresCluster pg, Storage storage, CodecPipeline pipeline,
      Duration walWait) {
    return new BackupService(LAYOUT, storage, pipeline, postgres(pg, "postgres", pg.port()),
        new PgsidecarConfig.Backup(walWait, Duration.ofSeconds(1)), java.time.Clock.systemUTC());
  }

  static String sha256(InputStream in) throws IOException {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        d.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(d.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Decodes the stored data, untars it, restores the backup's WAL from storage and runs
   * {@code pg_verifybackup} with that WAL; returns its output (asserting exit 0).
   */
  static String verifyWithPgVerifybackup(PostgresCluster pg, Storage storage,
      CodecPipeline pipeline, BackupManifest m, Path work) throws Exception {
    Path data = Files.createDirectories(work.resolve("data"));
    Path wal = Files.createDirectories(work.resolve("wal"));
    try (InputStream stored = storage.open(m.dataKey()).orElseThrow();
        InputStream tar = pipeline.decode(stored, m.codec(), m.dataKey())) {
      run(List.of("tar", "-xf", "-", "-C", data.toString()), tar);
    }
    String dir = LAYOUT.walRoot() + m.walStartSegment().substring(0, 16) + "/";
    try (var objects = storage.list(dir)) {
      for (var o : (Iterable<io.pgsidecar.core.storage.ObjectInfo>) objects::iterator) {
        String name = o.key().substring(dir.length());
        name = name.substring(0, name.length() - pipeline.suffix().length());
        if (name.length() != 24) {
          continue; // .backup history files
        }
        try (InputStream s = storage.open(o.key()).orElseThrow();
            InputStream plain = pipeline.decode(s, o.metadata().codec(), o.key());
            OutputStream out = Files.newOutputStream(wal.resolve(name))) {
          plain.transferTo(out);
        }
      }
    }
    chownToPostgres(work.getParent()); // JUnit's temp dir is 0700 root: let postgres in
    return pg.runAsPostgres(List.of(pg.bin("pg_verifybackup"), "-w", wal.toString(),
        data.toString())).orThrow().output();
  }

  /** START/STOP WAL LOCATION of the server's backup history file for backup {@code id}. */
  static Map<String, String> backupHistory(Path archive, String id) throws IOException {
    try (var files = Files.list(archive)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (!f.getFileName().toString().endsWith(".backup")) {
          continue;
        }
        String text = Files.readString(f, StandardCharsets.UTF_8);
        if (text.contains("LABEL: pgsidecar " + id + "\n")) {
          return Map.of("start", field(text, "START WAL LOCATION: "),
              "stop", field(text, "STOP WAL LOCATION: "),
              "startTimeline", field(text, "START TIMELINE: "));
        }
      }
    }
    throw new AssertionError("no backup history file for " + id + " in " + archive);
  }

  private static String field(String text, String prefix) {
    for (String line : text.split("\n")) {
      if (line.startsWith(prefix)) {
        return line.substring(prefix.length()).split(" ")[0];
      }
    }
    throw new AssertionError("no '" + prefix + "' in " + text);
  }

  static String run(List<String> cmd, InputStream stdin) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    Thread feeder = null;
    if (stdin != null) {
      feeder = Thread.ofVirtual().start(() -> {
        try (OutputStream o = p.getOutputStream()) {
          stdin.transferTo(o);
        } catch (IOException e) {
          // reported through the exit code
        }
      });
    } else {
      p.getOutputStream().close();
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      assertEquals(0, p.waitFor(), () -> cmd + " failed: " + out);
      if (feeder != null) {
        feeder.join();
      }
    } catch (InterruptedException e) {
      throw new IOException(e);
    }
    return out;
  }
}
