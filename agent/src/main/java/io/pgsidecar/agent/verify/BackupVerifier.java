package io.pgsidecar.agent.verify;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.repo.SegmentSize;
import io.pgsidecar.core.restore.DataDirectory;
import io.pgsidecar.core.restore.RecoverySettings;
import io.pgsidecar.core.restore.RecoveryTarget;
import io.pgsidecar.core.restore.Restorer;
import io.pgsidecar.core.restore.TarExtractor;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.core.verify.Scratch;
import io.pgsidecar.core.verify.StoredObjects;
import io.pgsidecar.core.wal.Segments;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * {@code pgsidecar backup verify ID [--restore]}: proves a stored base backup restores, in a
 * scratch directory under {@code verify.work-dir} that is removed afterwards, even on failure:
 * <ol>
 *   <li>reads the data object back to its end, checking the stored bytes' SHA-256 and size and
 *       the plain tar's SHA-256 and size against {@code backup.json} and the object's metadata,
 *       while unpacking the tar (with the restore's own {@link TarExtractor});</li>
 *   <li>fetches every WAL segment from the backup's start to its stop segment, each checked
 *       against its recorded SHA-256;</li>
 *   <li>runs {@code pg_verifybackup -w} on the unpacked copy: every file against the tar's
 *       {@code backup_manifest} (sizes and checksums), and the WAL parsed from the start to the
 *       stop LSN;</li>
 *   <li>with {@code restore}: restores the backup again through the restore engine
 *       ({@link Restorer}, recovery target {@code immediate}, then pause), starts PostgreSQL on a
 *       private socket ({@link ScratchServer}), waits until replay reached the target, runs the
 *       probe query, stops the server.</li>
 * </ol>
 */
public final class BackupVerifier {

  static final String REMEDY = "the backup cannot be trusted: take a new one (pgsidecar backup"
      + " create) and find out what changed the stored object";

  private final Storage storage;
  private final RepositoryLayout layout;
  private final CodecPipeline pipeline;
  private final VerifySettings settings;

  public BackupVerifier(Storage storage, RepositoryLayout layout, CodecPipeline pipeline,
      VerifySettings settings) {
    this.storage = storage;
    this.layout = layout;
    this.pipeline = pipeline;
    this.settings = settings;
  }

  /**
   * Verifies backup {@code id}.
   *
   * @throws JobException NOT_FOUND when there is no such backup, VERIFICATION_FAILED naming the
   *     object or step that is wrong, STORAGE_UNAVAILABLE when the repository cannot be read,
   *     FAILED when a program of this machine could not run
   */
  public BackupVerification verify(String id, boolean restore) {
    StoredManifest which = new StoredManifest("backup", id);
    BackupManifest b = manifest(which);
    Steps steps = new Steps();
    try (Scratch scratch = Scratch.create(settings.workDir(), "backup-" + id)) {
      Path data = scratch.dir("data");
      Path wal = scratch.dir("wal");
      TarExtractor.Result[] unpacked = new TarExtractor.Result[1];
      StoredObjects.Checked checked = steps.time("read and check " + b.dataKey(),
          () -> StoredObjects.check(storage, pipeline, "backup " + id, b.dataKey(), b.codec(),
              new StoredObjects.Expected("backup.json", b.storedSha256(), b.storedSize(),
                  b.plainSha256(), b.rawSize()),
              in -> unpacked[0] = new TarExtractor(data, b.dataKey()).extract(in), REMEDY));
      if (unpacked[0].pgVersion() == null) {
        throw JobException.verificationFailed("backup " + id + ": " + b.dataKey() + " holds no"
            + " PG_VERSION, so it is not a PostgreSQL data directory; " + REMEDY);
      }
      Files.write(data.resolve("PG_VERSION"), unpacked[0].pgVersion());
      List<String> segments = steps.time("fetch and check WAL", () -> fetchWal(b, wal));
      Programs programs = settings.programs();
      programs.handOver(scratch.path());
      String said = steps.time("pg_verifybackup", () -> pgVerifybackup(programs, b, data, wal));
      String probe = "";
      if (restore) {
        Scratch.deleteTree(data); // room for the restore
        probe = restoreAndProbe(b, scratch, wal, programs, steps);
      }
      return new BackupVerification(id, b.dataKey(), checked.storedSize(), checked.storedSha256(),
          checked.plainSize(), checked.plainSha256(), checked.checks(), segments, said, restore,
          probe, steps.millis(), steps.totalMillis());
    } catch (Exception e) {
      throw which.failure(e);
    }
  }

  private BackupManifest manifest(StoredManifest which) {
    return which.read(storage, layout.baseManifest(which.id()),
        new ArchiveCatalog(storage, layout).describe(), BackupManifest::fromJson);
  }

  /** Step 2: the segments from the backup's start to its stop, checked, into {@code dir}. */
  private List<String> fetchWal(BackupManifest b, Path dir) throws IOException {
    Segments s = SegmentSize.of(storage, layout, List.of(b)).segments();
    long first = s.ofName(b.walStartSegment()).orElseThrow(() -> bad(b, "walStartSegment")).number();
    long last = s.ofName(b.walStopSegment()).orElseThrow(() -> bad(b, "walStopSegment")).number();
    Map<String, ObjectInfo> stored = new HashMap<>();
    List<String> names = new ArrayList<>();
    for (long n = first; n <= last; n++) {
      String name = s.name(b.timeline(), n);
      ObjectInfo o = find(s, name, stored);
      if (o == null) {
        throw new JobException(JobException.Kind.VERIFICATION_FAILED, "backup " + b.id()
            + " needs WAL segment " + name + ", which is missing from "
            + new ArchiveCatalog(storage, layout).describe() + "; without it the backup never"
            + " becomes consistent: take a new backup (pgsidecar backup create) and run pgsidecar"
            + " wal verify", Map.of("segment", name), null);
      }
      Path target = dir.resolve(name);
      StoredObjects.check(storage, pipeline, "WAL segment " + name + " of backup " + b.id(),
          o.key(), o.metadata().codec(), StoredObjects.Expected.metadataOnly(), in -> {
            try (OutputStream out = Files.newOutputStream(target)) {
              in.transferTo(out);
            }
          }, "the backup cannot be made consistent: take a new backup (pgsidecar backup create)");
      names.add(name);
    }
    return names;
  }

  private ObjectInfo find(Segments s, String name, Map<String, ObjectInfo> cache)
      throws IOException {
    String folder = layout.walRoot() + name.substring(0, 16) + "/";
    if (!cache.containsKey(folder)) {
      cache.put(folder, null);
      try (Stream<ObjectInfo> objects = storage.list(folder)) {
        for (ObjectInfo o : (Iterable<ObjectInfo>) objects::iterator) {
          s.ofKey(o.key()).ifPresent(g -> cache.put(s.name(g.timeline(), g.number()), o));
        }
      }
    }
    return cache.get(name);
  }

  private static JobException bad(BackupManifest b, String field) {
    return JobException.verificationFailed("backup " + b.id() + ": backup.json's " + field
        + " is not a WAL segment name; " + REMEDY);
  }

  /** Step 3. */
  private String pgVerifybackup(Programs programs, BackupManifest b, Path data, Path wal) {
    Programs.Outcome o = programs.run("pg_verifybackup", List.of("-w", wal.toString(),
        data.toString()), Map.of(), settings.timeout());
    if (o.exitCode() != 0) {
      throw new JobException(JobException.Kind.VERIFICATION_FAILED, "backup " + b.id()
          + ": pg_verifybackup found that " + b.dataKey() + " does not match its backup_manifest: "
          + o.said().replace('\n', ' ') + "; " + REMEDY, Map.of("key", b.dataKey()), null);
    }
    return o.stdout().strip();
  }

  /** Step 4: restore engine, scratch server, probe. */
  private String restoreAndProbe(BackupManifest b, Scratch scratch, Path wal, Programs programs,
      Steps steps) throws Exception {
    Path fetch = fetchScript(scratch.dir("bin"), wal);
    Path pgdata = scratch.path().resolve("restore");
    Restorer restorer = new Restorer(storage, new ArchiveCatalog(storage, layout), pipeline);
    RecoveryTarget target = new RecoveryTarget(RecoveryTarget.Kind.IMMEDIATE, null, false,
        RecoveryTarget.Action.PAUSE, "current");
    steps.time("restore", () -> restorer.restore(new Restorer.Request(new DataDirectory(pgdata),
        target, Optional.of(b.id()), new RecoverySettings(fetch.toString(), Optional.empty(),
            Optional.empty()))));
    Path sock = scratch.dir("s");
    try (ScratchServer server = new ScratchServer(programs, pgdata, sock,
        scratch.path().resolve("server.log"), settings.timeout(), settings.user())) {
      server.configure();
      programs.handOver(scratch.path());
      steps.time("start to consistency", () -> {
        server.start();
        server.awaitTargetReached();
        return null;
      });
      String probe = steps.time("probe", () -> server.query(settings.database(), settings.probe()));
      steps.time("stop", () -> {
        server.close();
        return null;
      });
      return probe;
    }
  }

  /**
   * The scratch server's restore_command: the WAL this verification fetched and checked, by
   * name; exit 1 ("not in the archive") for anything else (history files of later timelines).
   */
  private static Path fetchScript(Path bin, Path wal) throws IOException {
    Path script = bin.resolve("wal-fetch");
    String dir = "'" + wal.toString().replace("'", "'\\''") + "'";
    Files.writeString(script, "#!/bin/sh\n"
        + "# restore_command of a pgsidecar verify scratch server: fetch NAME PATH\n"
        + "[ \"$1\" = fetch ] || exit 2\n"
        + "[ -f " + dir + "/\"$2\" ] || exit 1\n"
        + "exec cp " + dir + "/\"$2\" \"$3\"\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    return script;
  }
}
