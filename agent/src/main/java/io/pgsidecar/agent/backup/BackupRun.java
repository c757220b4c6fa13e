package io.pgsidecar.agent.backup;

import io.pgsidecar.core.io.DigestingInputStream;
import io.pgsidecar.agent.postgres.PgConnection;
import io.pgsidecar.core.config.PgsidecarConfig;
import java.nio.file.Path;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.io.BoundedPipe;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import io.pgsidecar.core.job.JobException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One base backup, start to end, on threads of its own (never the WAL push's: pg_basebackup
 * {@code -X none} waits for our own archive_command before it finishes). The steps:
 * <ol>
 *   <li>ask the server for its identity, version, segment size; refuse extra tablespaces;</li>
 *   <li>start pg_basebackup writing a tar to stdout; log its stderr;</li>
 *   <li>stream stdout through SHA-256, the tar scanner (backup_manifest, backup_label) and the
 *       codec pipeline into a bounded pipe that a storage upload reads: no temp file;</li>
 *   <li>fail the stream (so storage commits nothing) unless pg_basebackup exited 0 and the tar was
 *       complete with a manifest;</li>
 *   <li>wait until every WAL segment from start to stop LSN is in storage;</li>
 *   <li>write backup.json, the object that makes the backup exist.</li>
 * </ol>
 */
final class BackupRun {

  private static final System.Logger LOG = System.getLogger(BackupRun.class.getName());

  private final RunningBackup backup;
  private final RepositoryLayout layout;
  private final Storage storage;
  private final CodecPipeline pipeline;
  private final PgsidecarConfig.Postgres postgres;
  private PgConnection pg;
  private final Duration walWaitTimeout;
  private final Duration progressInterval;
  private final Clock clock;
  private final String agentVersion;
  private final StderrTail stderrTail = new StderrTail("pg_basebackup", 20);

  BackupRun(RunningBackup backup, RepositoryLayout layout, Storage storage, CodecPipeline pipeline,
      PgsidecarConfig.Postgres postgres, Duration walWaitTimeout, Duration progressInterval, Clock clock,
      String agentVersion) {
    this.backup = backup;
    this.layout = layout;
    this.storage = storage;
    this.pipeline = pipeline;
    this.postgres = postgres;
    this.walWaitTimeout = walWaitTimeout;
    this.progressInterval = progressInterval;
    this.clock = clock;
    this.agentVersion = agentVersion;
  }

  BackupManifest run() throws Exception {
    String id = backup.id();
    Thread ticker = Thread.ofVirtual().name("backup-progress-" + id)
        .start(() -> backup.logProgress(progressInterval));
    try {
      // 1. The server, before anything is written.
      backup.phase = RunningBackup.Phase.CHECKING_SERVER;
      pg = PgConnection.fromConfig(postgres);
      ServerFacts facts = ServerFacts.read(program("psql"), pg);
      if (!facts.extraTablespaces().isEmpty()) {
        throw JobException.refused("base backup " + id + " refused: the cluster has "
            + "tablespaces other than pg_default and pg_global (" + String.join(", ",
                facts.extraTablespaces()) + "); pgsidecar cannot back them up yet. Move their "
            + "objects to pg_default (ALTER TABLE ... SET TABLESPACE pg_default) and drop them, "
            + "or back up with another tool");
      }
      // 2.-4. Stream the tar into storage.
      backup.phase = RunningBackup.Phase.STREAMING;
      String dataKey = layout.baseData(id, pipeline.suffix());
      Streamed s = stream(dataKey);
      Instant stopTime = clock.instant();
      WalRange first = s.ranges().getFirst();
      WalRange last = s.ranges().getLast();
      LOG.log(Level.INFO, "base backup {0}: data stored as {1} ({2} bytes plain, {3} stored); "
          + "WAL {4} to {5} on timeline {6}", id, dataKey, Long.toString(s.rawSize()),
          Long.toString(s.info().storedSize()),
          WalPositions.formatLsn(first.startLsn()), WalPositions.formatLsn(last.endLsn()),
          Long.toString(last.timeline()));
      // 5. The WAL that makes the data consistent.
      backup.phase = RunningBackup.Phase.WAITING_FOR_WAL;
      List<String> segments = s.ranges().stream()
          .flatMap(r -> r.segments(facts.walSegmentSize()).stream()).distinct().toList();
      new WalArrival(storage, layout, walWaitTimeout, clock).await(segments, id,
          () -> backup.cancelled);
      // 6. backup.json last: from now on the backup exists.
      backup.phase = RunningBackup.Phase.WRITING_MANIFEST;
      BackupManifest manifest = new BackupManifest(BackupManifest.FORMAT_VERSION, id,
          backup.label(), layout.cluster(), facts.systemIdentifier(), facts.serverVersionNum(),
          last.timeline(), WalPositions.formatLsn(first.startLsn()),
          WalPositions.formatLsn(last.endLsn()), backup.startedAt(), stopTime, s.rawSize(),
          s.info().storedSize(), s.storedSha256(), s.plainSha256(), pipeline.name(),
          pipeline.keyFingerprint(), dataKey, agentVersion, segments.getFirst(),
          segments.getLast());
      byte[] json = manifest.toJson();
      String sha = HexFormat.of().formatHex(DigestingInputStream.sha256().digest(json));
      storage.create(layout.baseManifest(id), new ByteArrayInputStream(json),
          () -> new ObjectMetadata(sha, json.length, "", "", Map.of("backup-id", id)));
      return manifest;
    } finally {
      ticker.interrupt();
    }
  }

  private Path program(String name) {
    return postgres.binDir() == null ? Path.of(name) : postgres.binDir().resolve(name);
  }

  private record Streamed(ObjectInfo info, long rawSize, String plainSha256, String storedSha256,
      List<WalRange> ranges) {}

  private Streamed stream(String dataKey) throws Exception {
    var cmd = new ArrayList<String>();
    cmd.add(program("pg_basebackup").toString());
    cmd.addAll(List.of("--pgdata=-", "--format=tar", "--wal-method=none", "--checkpoint=fast",
        "--label=pgsidecar " + backup.id()));
    cmd.add("--no-password"); // never prompt: the password comes from the environment only
    var pb = new ProcessBuilder(cmd);
    pg.applyTo(pb.environment());
    LOG.log(Level.INFO, "base backup {0}: starting {1} against {2}", backup.id(),
        String.join(" ", cmd), pg.describe());
    Process process = pb.start();
    backup.process = process;
    if (backup.cancelled) {
      process.destroy();
    }
    process.getOutputStream().close();
    Thread stderr = Thread.ofVirtual().name("pg_basebackup-stderr-" + backup.id())
        .start(() -> stderrTail.capture(process.getErrorStream(), backup.id()));

    BoundedPipe pipe = new BoundedPipe(1 << 20, 8);
    DigestingInputStream stored = new DigestingInputStream(pipe.source(), backup.storedBytes::addAndGet);
    MessageDigest plain = DigestingInputStream.sha256();
    String[] plainHex = new String[1];
    CompletableFuture<ObjectInfo> upload = new CompletableFuture<>();
    Thread.ofVirtual().name("backup-upload-" + backup.id()).start(() -> {
      try {
        upload.complete(storage.create(dataKey, stored, () -> new ObjectMetadata(plainHex[0],
            backup.rawBytes.get(), pipeline.name(), pipeline.keyFingerprint(),
            Map.of("backup-id", backup.id()))));
      } catch (Throwable t) {
        upload.completeExceptionally(t);
        pipe.failReader(t);
      }
    });

    var manifest = new ManifestWalRanges();
    var label = new ByteArrayOutputStream();
    var scanner = new TarScanner(name -> switch (name) {
      case "backup_manifest" -> manifest;
      case "backup_label" -> new Capture(label, 64 * 1024);
      default -> null;
    });
    OutputStream encoder = null;
    try {
      encoder = pipeline.encode(pipe.sink());
      byte[] buf = new byte[256 * 1024];
      try (InputStream out = process.getInputStream()) {
        int n;
        while ((n = out.read(buf)) >= 0) {
          plain.update(buf, 0, n);
          backup.rawBytes.addAndGet(n);
          scanner.feed(buf, 0, n);
          encoder.write(buf, 0, n);
        }
      }
      int exit = process.waitFor();
      stderr.join(Duration.ofSeconds(10));
      if (backup.cancelled) {
        throw new IOException("base backup " + backup.id() + " cancelled (agent stopping or "
            + "asked to cancel)");
      }
      if (exit != 0) {
        throw new IOException("pg_basebackup failed with exit code " + exit + ": "
            + stderrTail.summary());
      }
      if (!scanner.complete()) {
        throw new IOException("pg_basebackup's tar stream ended without its end-of-archive "
            + "marker after " + backup.rawBytes.get() + " bytes; nothing was stored");
      }
      if (!manifest.done()) {
        throw new IOException("no backup_manifest in pg_basebackup's tar stream; it is needed "
            + "to know the WAL range (PostgreSQL 13 or later writes it; do not disable it)");
      }
      plainHex[0] = HexFormat.of().formatHex(plain.digest());
      checkLabel(label.toString(StandardCharsets.UTF_8), manifest.ranges().getFirst());
      encoder.close();
    } catch (Throwable t) {
      killProcess(process);
      pipe.failWriter(t);
      closeQuietly(encoder);
      try {
        upload.get(30, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // the upload fails now that the stream is aborted; its own error is looked at below
      }
      if (backup.cancelled && !(t instanceof IOException && String.valueOf(t.getMessage())
          .endsWith("cancelled (agent stopping or asked to cancel)"))) {
        // a destroyed pg_basebackup may end its stdout with "Stream closed" instead of EOF
        throw new IOException("base backup " + backup.id() + " cancelled (agent stopping or "
            + "asked to cancel)", t);
      }
      if (upload.isCompletedExceptionally() && isStorageSide(t)) {
        Throwable cause = upload.exceptionNow();
        throw new IOException("storing base backup data " + dataKey + " failed: "
            + cause.getMessage(), cause);
      }
      throw t;
    }
    ObjectInfo info;
    try {
      info = upload.get();
    } catch (ExecutionException e) {
      throw new IOException("storing base backup data " + dataKey + " failed: "
          + e.getCause().getMessage(), e.getCause());
    }
    return new Streamed(info, backup.rawBytes.get(), plainHex[0], stored.sha256Hex(),
        manifest.ranges());
  }

  private static boolean isStorageSide(Throwable t) {
    return t.getMessage() != null && t.getMessage().startsWith("storage stopped reading");
  }

  /** backup_label is written by the server from the same start position: a cross-check. */
  private void checkLabel(String text, WalRange first) throws IOException {
    for (String line : text.split("\n")) {
      if (line.startsWith("START WAL LOCATION: ")) {
        String lsn = line.substring("START WAL LOCATION: ".length()).split(" ")[0];
        if (WalPositions.parseLsn(lsn) != first.startLsn()) {
          throw new IOException("backup_label says START WAL LOCATION " + lsn + " but "
              + "backup_manifest says Start-LSN " + WalPositions.formatLsn(first.startLsn())
              + "; refusing a backup whose WAL range is unclear");
        }
        return;
      }
    }
    throw new IOException("no START WAL LOCATION in the tar's backup_label");
  }

  private static void killProcess(Process p) {
    if (p.isAlive()) {
      p.destroyForcibly();
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void closeQuietly(OutputStream s) {
    if (s != null) {
      try {
        s.close();
      } catch (IOException | RuntimeException ignored) {
        // the stream is being abandoned
      }
    }
  }

  /** Keeps a small member (backup_label) in memory, up to a cap. */
  private record Capture(ByteArrayOutputStream into, int cap) implements TarScanner.MemberSink {
    @Override
    public void data(byte[] b, int off, int len) {
      into.write(b, off, Math.max(0, Math.min(len, cap - into.size())));
    }

    @Override
    public void end() {}
  }
}
