package io.pgsidecar.core.restore;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.ZstdCodec;
import io.pgsidecar.core.job.Causes;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.wal.Lsn;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The restore engine behind both front doors (the {@code restore-init} init container and
 * {@code pgsidecar restore}):
 * <ol>
 *   <li>reads the archive and refuses a target it cannot reach, before writing anything;</li>
 *   <li>picks the backup (the one named, or the newest that ends before the target) and checks
 *       the archive holds the WAL that makes it consistent;</li>
 *   <li>streams the backup through the codec into the data directory, verifying the SHA-256 of
 *       the stored bytes against {@code backup.json}, and the plain tar: by zstd's content
 *       checksum when the backup is compressed (every zstd frame pgsidecar writes carries the
 *       XXH64 of its content, which the decoder checks), else by its SHA-256 against
 *       {@code backup.json} (decoding, digesting and unpacking on their own threads:
 *       {@link PipelinedUnpack});</li>
 *   <li>fsyncs every restored file and directory, writes the recovery settings and
 *       {@code recovery.signal}, then {@code PG_VERSION} (held back from the unpack), then removes
 *       the marker, each step fsynced.</li>
 * </ol>
 * PostgreSQL then replays WAL through {@code wal-archiver fetch}.
 */
public final class Restorer {

  private static final System.Logger LOG = System.getLogger("pgsidecar.restore");

  /**
   * @param backupId a backup id; empty or {@code latest} for the automatic choice
   */
  public record Request(DataDirectory pgdata, RecoveryTarget target, Optional<String> backupId,
      RecoverySettings settings) {}

  /** What a restore will use: decided before anything is written. */
  public record Plan(BackupManifest backup, ArchiveCatalog.Window window) {}

  /** What was restored. */
  public record Result(BackupManifest backup, ArchiveCatalog.Window window, long files,
      long bytes, Duration duration) {}

  private final Storage storage;
  private final ArchiveCatalog catalog;
  private final CodecPipeline pipeline;

  /**
   * @param catalog the archive to restore from (another cluster's for {@code --from-cluster})
   * @param pipeline decodes the stored objects (needs the secret key or passphrase if encrypted)
   */
  public Restorer(Storage storage, ArchiveCatalog catalog, CodecPipeline pipeline) {
    this.storage = storage;
    this.catalog = catalog;
    this.pipeline = pipeline;
  }

  /** Steps 1 and 2: what would be restored, or why it cannot be. Writes nothing. */
  public Plan plan(RecoveryTarget target, Optional<String> backupId) throws IOException {
    // The WAL listing (one page per 5000 segments) and the backups' manifests are independent
    // round trips to storage: list the WAL on a second thread while the manifests are read.
    FutureTask<List<ArchiveCatalog.WalEntry>> walListing = new FutureTask<>(catalog::segments);
    Thread.ofVirtual().name("pgsidecar-restore-wal-listing").start(walListing);
    List<BackupManifest> backups;
    try {
      backups = catalog.backups();
    } catch (IOException | RuntimeException e) {
      walListing.cancel(true);
      throw e;
    }
    List<ArchiveCatalog.WalEntry> segments = result(walListing);
    if (backups.isEmpty()) {
      throw new IOException("no complete base backup in " + catalog.describe()
          + ": take one (pgsidecar backup create), or restore another cluster's archive (--from-cluster)");
    }
    ArchiveCatalog.Window window = ArchiveCatalog.window(backups, segments).orElseThrow(
        () -> new IOException("no WAL segment archived in " + catalog.describe()
            + ": a base backup alone cannot be made consistent; check archive_command"));
    checkReachable(target, window);
    BackupManifest backup = choose(backups, target, backupId, window);
    checkBackupWal(backup, segments);
    checkNoGapBeforeTarget(backup, target, segments);
    return new Plan(backup, window);
  }

  /** The listing's result, or the exception it threw (an IOException as itself). */
  private static <T> T result(FutureTask<T> task) throws IOException {
    try {
      return task.get();
    } catch (InterruptedException e) {
      task.cancel(true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while listing the WAL archive");
    } catch (ExecutionException e) {
      Throwable other = Causes.rethrow(e);
      if (other instanceof Error error) {
        throw error;
      }
      throw new IOException("listing the WAL archive failed: " + other, other);
    }
  }

  public Result restore(Request request) throws IOException {
    Instant started = Instant.now();
    Plan plan = plan(request.target(), request.backupId());
    BackupManifest backup = plan.backup();
    LOG.log(System.Logger.Level.INFO, () -> "restoring backup " + backup.id() + " ("
        + backup.rawSize() + " bytes) from " + catalog.describe() + " into "
        + request.pgdata().path() + "; the archive covers " + plan.window().describe());

    request.pgdata().prepare();
    long t0 = System.nanoTime();
    TarExtractor.Result unpacked = unpack(backup, request.pgdata());
    long unpackMs = (System.nanoTime() - t0) / 1_000_000;
    if (unpacked.pgVersion() == null) {
      throw new IOException("backup " + backup.id() + ": " + backup.dataKey() + " holds no"
          + " PG_VERSION, so it is not a PostgreSQL data directory (the restore marker stays,"
          + " a new run starts over): pick another backup");
    }
    // Durable before recovery.signal appears, and PG_VERSION last of all: a directory with
    // PG_VERSION is never wiped, so it must never hold half a restore (DataDirectory).
    long t1 = System.nanoTime();
    request.pgdata().sync();
    long syncMs = (System.nanoTime() - t1) / 1_000_000;
    request.settings().write(request.pgdata().path(), request.target());
    request.pgdata().finish(unpacked.pgVersion());
    Duration took = Duration.between(started, Instant.now());
    LOG.log(System.Logger.Level.INFO, () -> "restored backup " + backup.id() + ": "
        + unpacked.files() + " files, " + unpacked.bytes() + " bytes in " + took.toMillis() + " ms"
        + " (download, decode and unpack " + unpackMs + " ms, the last fsync pass " + syncMs + " ms)");
    return new Result(backup, plan.window(), unpacked.files(), unpacked.bytes(), took);
  }

  static void checkReachable(RecoveryTarget target, ArchiveCatalog.Window w) throws IOException {
    switch (target.kind()) {
      case TIME -> {
        Instant t = target.time().orElseThrow();
        if (t.isBefore(w.firstTime())) {
          throw new IOException("target time " + t + " is before the end of the oldest backup,"
              + " so no backup can reach it; the archive covers " + w.describe());
        }
        // Azure reports Last-Modified in whole seconds: the segment was stored up to a second
        // after the time we see. Within that second the target may still be in it; if it is
        // not, PostgreSQL stops with "recovery ended before configured recovery target was
        // reached" and never promotes at a wrong point.
        if (t.isAfter(w.lastTime().plusSeconds(1))) {
          throw new IOException("target time " + t + " is after the last archived WAL segment,"
              + " so replay cannot reach it; the archive covers " + w.describe());
        }
      }
      case LSN -> {
        Lsn l = Lsn.parse(target.value());
        if (l.compareTo(w.firstLsn()) < 0) {
          throw new IOException("target LSN " + l + " is before the end of the oldest backup,"
              + " so no backup can reach it; the archive covers " + w.describe());
        }
        if (l.compareTo(w.lastLsn()) > 0) {
          throw new IOException("target LSN " + l + " is after the last archived WAL segment,"
              + " so replay cannot reach it; the archive covers " + w.describe());
        }
      }
      default -> { } // xid, name: only replay can tell; immediate, latest: any backup will do
    }
  }

  /** The named backup, or the newest that ends before the target (the newest for the others). */
  static BackupManifest choose(List<BackupManifest> backups, RecoveryTarget target,
      Optional<String> backupId, ArchiveCatalog.Window window) throws IOException {
    Optional<String> id = backupId.filter(s -> !s.isBlank() && !s.equals("latest"));
    if (id.isPresent()) {
      BackupManifest named = backups.stream().filter(b -> b.id().equals(id.get())).findFirst()
          .orElseThrow(() -> new IOException("backup " + id.get() + " is not among the complete"
              + " backups " + backups.stream().map(BackupManifest::id).toList()
              + "; pick one of them or latest"));
      if (!endsBefore(named, target)) {
        throw new IOException("backup " + named.id() + " ends after the target ("
            + named.stopTime() + ", LSN " + named.stopLsn() + "), so replay cannot stop there;"
            + " pick an older backup or latest");
      }
      return named;
    }
    for (int i = backups.size() - 1; i >= 0; i--) {
      if (endsBefore(backups.get(i), target)) {
        return backups.get(i);
      }
    }
    throw new IOException("no backup ends before the target; the archive covers " + window.describe());
  }

  private static boolean endsBefore(BackupManifest b, RecoveryTarget t) {
    return switch (t.kind()) {
      case TIME -> !b.stopTime().isAfter(t.time().orElseThrow());
      case LSN -> Lsn.parse(b.stopLsn()).compareTo(Lsn.parse(t.value())) <= 0;
      default -> true;
    };
  }

  /** The backup is consistent only with every segment from its start to its stop LSN. */
  private void checkBackupWal(BackupManifest b, List<ArchiveCatalog.WalEntry> segments)
      throws IOException {
    Set<String> stored = new HashSet<>();
    segments.forEach(s -> stored.add(s.name().name()));
    WalFileName last = WalFileName.parse(b.walStopSegment());
    for (WalFileName s = WalFileName.parse(b.walStartSegment()); ; s = s.next()) {
      if (!stored.contains(s.name())) {
        throw new IOException("backup " + b.id() + " needs WAL segment " + s.name()
            + " which is not in " + catalog.describe() + "; pick another backup (--backup)");
      }
      if (s.name().equals(last.name()) || s.startLsn().compareTo(last.startLsn()) > 0) {
        return;
      }
    }
  }

  /**
   * A segment missing between the backup and the target would end replay there: PostgreSQL
   * takes "not in the archive" as the end of the archive, and without a target it would promote
   * at the gap. Checked on the backup's own timeline (later timelines start mid-way and are
   * followed through their history files).
   */
  private void checkNoGapBeforeTarget(BackupManifest b, RecoveryTarget target,
      List<ArchiveCatalog.WalEntry> segments) throws IOException {
    if (target.kind() == RecoveryTarget.Kind.IMMEDIATE) {
      return;
    }
    Lsn from = WalFileName.parse(b.walStartSegment()).startLsn();
    List<ArchiveCatalog.WalEntry> path = segments.stream()
        .filter(s -> s.name().timeline() == b.timeline() && s.name().startLsn().compareTo(from) >= 0)
        .toList();
    for (int i = 1; i < path.size(); i++) {
      ArchiveCatalog.WalEntry before = path.get(i - 1);
      WalFileName expected = before.name().next();
      if (expected.name().equals(path.get(i).name().name())) {
        continue;
      }
      boolean beforeTarget = switch (target.kind()) {
        case LSN -> expected.startLsn().compareTo(Lsn.parse(target.value())) <= 0;
        case TIME -> before.storedAt().isBefore(target.time().orElseThrow());
        default -> true;
      };
      if (beforeTarget) {
        throw new IOException("WAL segment " + expected.name() + " is missing from "
            + catalog.describe() + " (the archive jumps from " + before.name() + " to "
            + path.get(i).name() + "): replay from backup " + b.id() + " would stop there,"
            + " before the target; choose a target before it, or put the segment back");
      }
      return;
    }
  }

  private TarExtractor.Result unpack(BackupManifest b, DataDirectory pgdata) throws IOException {
    InputStream raw = new NamedRead(storage.open(b.dataKey()).orElseThrow(() -> new IOException(
        "backup " + b.id() + ": data object " + b.dataKey() + " is missing from storage;"
        + " pick another backup")), b);
    // zstd checks each frame's content checksum while decoding (a mismatch is a decode error
    // naming the object): hashing the 1.6 GB tar of a pgbench -s 100 backup again cost more
    // CPU than decompressing it, on the cores the unpack needs
    boolean plainChecked = zstdChecked(b.codec());
    PipelinedUnpack.Result r;
    // the disk writes back during the unpack, not all of it in the fsync pass after it
    try (var writeBehind = new WriteBehind(b.id())) {
      r = PipelinedUnpack.run(raw, stored -> pipeline.decode(stored, b.codec(), b.dataKey()),
          new TarExtractor(pgdata.path(), b.dataKey()).writeBehind(writeBehind), b.id(), !plainChecked);
      writeBehind.finish();
    }
    check(b, "stored bytes", r.storedSha256(), b.storedSha256());
    if (!plainChecked) {
      check(b, "unpacked tar", r.plainSha256(), b.plainSha256());
    }
    return r.unpacked();
  }

  /** Whether the codec chain {@code codec} ("zstd+pgp", ...) decodes through zstd. */
  static boolean zstdChecked(String codec) {
    return codec != null && java.util.Arrays.asList(codec.split("\\+")).contains(ZstdCodec.NAME);
  }

  private static void check(BackupManifest b, String what, String got, String want)
      throws IOException {
    if (want != null && !want.isEmpty() && !got.equalsIgnoreCase(want)) {
      throw new IOException("backup " + b.id() + ": the " + what + " of " + b.dataKey()
          + " have SHA-256 " + got + " but backup.json records " + want
          + "; the stored backup is corrupt and the data directory is unusable"
          + " (the restore marker stays, a new run starts over): pick another backup");
    }
  }

  /**
   * The stored object as read from storage: a read that fails (a ranged GET that gives up after
   * its retries, a reset connection) fails the restore naming the backup, the object and how far
   * it got, whatever the driver's own message says. The data directory keeps its restore marker
   * and no PG_VERSION, so it never looks complete and the next run starts over.
   */
  static final class NamedRead extends java.io.FilterInputStream {
    private final BackupManifest backup;
    private long position;

    NamedRead(InputStream in, BackupManifest backup) {
      super(in);
      this.backup = backup;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        int n = in.read(b, off, len);
        if (n > 0) {
          position += n;
        }
        return n;
      } catch (java.io.InterruptedIOException e) {
        throw e;
      } catch (IOException e) {
        throw new IOException("backup " + backup.id() + ": reading " + backup.dataKey()
            + " from storage failed after " + position + " of " + backup.storedSize()
            + " bytes: " + e.getMessage() + "; nothing restored is usable (the restore marker"
            + " stays, a new run starts over): check the storage and run the restore again", e);
      }
    }
  }
}
