package io.pgsidecar.agent.dump;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.agent.postgres.PgConnection;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.azure.AzureStorage;
import io.pgsidecar.core.storage.fs.FsStorage;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Restores one database of a dump into a PostgreSQL server with {@code pg_restore}, streaming the
 * decoded archive into its stdin (a temp file only for {@code --jobs} above 1: parallel
 * pg_restore needs a seekable file). Runs in the CLI process, reading storage directly.
 *
 * <p>Steps, in this order so that a wrong key, a damaged or truncated object, or a globals script
 * holding a psql meta-command fails before anything on the target changes:
 * <ol>
 *   <li>read {@code dump.json} and find the database;</li>
 *   <li>verify the archive: decode it to the end and compare size and SHA-256 with dump.json
 *       (with {@code --jobs} above 1, into the temp file pg_restore will read, which is then the
 *       verified copy); its first bytes must be pg_dump's {@code PGDMP} magic;</li>
 *   <li>with {@code --globals}, verify globals.sql the same way while reading which roles exist
 *       already and checking that no line holds a psql meta-command ({@link GlobalsFilter});</li>
 *   <li>only now change the target: apply the globals through psql, create the {@code --as}
 *       database, run pg_restore, reading the objects a second time (and checking them again on
 *       the way: storage objects are never replaced, so the second read can only differ through a
 *       fault, which stops the restore with the same message).</li>
 * </ol>
 * Why a second read and not a temp copy: memory stays constant, and no local disk as large as the
 * dump is needed (pg_dump writes {@code -Z0}: the decoded archive is the database's size); the
 * price is reading the archive twice from storage.
 */
public final class DumpRestorer implements AutoCloseable {


  private final Storage storage;
  private final CodecPipeline pipeline;
  private final RepositoryLayout layout;
  private final PgTool tool;
  private final GlobalsRestore globalsRestore;

  public DumpRestorer(Storage storage, CodecPipeline pipeline, RepositoryLayout layout, PgTool tool) {
    this.storage = storage;
    this.pipeline = pipeline;
    this.layout = layout;
    this.tool = tool;
    this.globalsRestore = new GlobalsRestore(tool, this::open);
  }

  /**
   * The restorer of the repository {@code config} names: its storage, the codec pipeline with
   * the configured decryption keys, the client programs of {@code postgres.bin-dir}.
   * Merge note: opening storage from the config belongs in one shared factory.
   */
  public static DumpRestorer forConfig(PgsidecarConfig config) throws IOException {
    Storage storage = switch (config.storage().type()) {
      case FS -> new FsStorage(config.storage().path().orElseThrow(() -> new IOException(
          "storage.type is fs but storage.path is not set; set it to the repository folder")));
      case AZURE -> AzureStorage.open(config.storage().azure());
      case S3 -> io.pgsidecar.core.storage.StorageFactory.open(config.storage());
    };
    return new DumpRestorer(storage, Pipelines.forConfig(config.compression(), config.encryption()),
        new RepositoryLayout(config.storage().prefix(), config.cluster()),
        new PgTool(config.postgres().binDir()));
  }

  /** The same repository, the dumps of another cluster (restore elsewhere what it dumped). */
  public DumpRestorer forCluster(String cluster) {
    return new DumpRestorer(storage, pipeline, layout.forCluster(cluster), tool);
  }

  /** The database of a dump that holds exactly one; otherwise says which to choose from. */
  public String onlyDatabase(String id) throws IOException {
    List<String> names = manifest(id).databases().stream().map(DumpManifest.Entry::name).toList();
    if (names.size() != 1) {
      throw new IllegalArgumentException("dump " + id + " holds " + names.size()
          + " databases " + names + "; choose one with --db NAME");
    }
    return names.get(0);
  }

  @Override
  public void close() throws IOException {
    storage.close();
  }

  /**
   * What a restore did.
   *
   * @param database the database on the target that received the restore
   * @param keptRoles roles of the dump that already existed on the target and were left unchanged
   * @param warnings errors psql reported while applying globals (the restore went on)
   */
  public record Result(String database, long bytes, List<String> keptRoles, List<String> warnings) {}

  /**
   * Restores database {@code database} of dump {@code id} into {@code target}. The target's
   * database part is the maintenance database used to create databases and apply globals
   * ({@code postgres} when the URL names none).
   */
  public Result restore(String id, String database, PgConnection target, RestoreOptions options)
      throws IOException {
    DumpManifest manifest = manifest(id);
    DumpManifest.Entry entry = entry(manifest, database);
    PgConnection maintenance = target.database().isEmpty() ? target.withDatabase("postgres") : target;
    String into = options.as().orElse(database);
    if (options.globals() && manifest.globals() == null) {
      throw JobException.invalidInput("dump " + id + " has no globals entry; restore without"
          + " --globals");
    }
    Path verifiedCopy = null;
    try {
      // 1. Verify everything before the target changes.
      if (options.jobs() > 1) {
        verifiedCopy = decodeToTempFile(entry, options);
      } else {
        try (DecodedObject archive = open(entry, "pg_dump archive")) {
          archive.checkMagic();
          archive.verifyToEnd();
        }
      }
      List<String> kept = List.of();
      List<String> warnings = List.of();
      Set<String> existing = Set.of();
      if (options.globals()) {
        existing = globalsRestore.existingRoles(maintenance);
        kept = globalsRestore.check(manifest.globals(), existing);
      }
      // 2. Apply.
      if (options.globals()) {
        try (DecodedObject globals = open(manifest.globals(), "globals script")) {
          warnings = globalsRestore.apply(globals, maintenance, existing);
        }
      }
      if (options.as().isPresent()) {
        prepareNewDatabase(maintenance, into, options.clean());
      }
      List<String> args = options.pgRestoreArgs(options.create() ? maintenance.database() : into);
      if (verifiedCopy != null) {
        restoreFromFile(verifiedCopy, entry, maintenance, args, options);
      } else {
        try (DecodedObject archive = open(entry, "pg_dump archive")) {
          archive.checkMagic();
          restoreStreaming(archive, entry, maintenance, args);
        }
      }
      return new Result(into, entry.rawSize(), kept, warnings);
    } finally {
      if (verifiedCopy != null) {
        Files.deleteIfExists(verifiedCopy);
      }
    }
  }

  /** Writes the archive's table of contents ({@code pg_restore --list}) to {@code out}. */
  public void list(String id, String database, java.io.Writer out) throws IOException {
    DumpManifest.Entry entry = entry(manifest(id), database);
    try (DecodedObject archive = open(entry, "pg_dump archive")) {
      archive.checkMagic();
      try (PgTool.Child child = tool.start("pg_restore", PgConnection.local(), List.of("--list"))) {
        Thread feeder = Thread.ofVirtual().name("pg_restore-list-feed").start(() -> {
          try (OutputStream stdin = child.process().getOutputStream()) {
            archive.in().transferTo(stdin);
          } catch (IOException ignored) {
            // pg_restore --list stops reading after the table of contents: a closed pipe is fine
          }
        });
        new InputStreamReader(child.process().getInputStream(), StandardCharsets.UTF_8)
            .transferTo(out);
        out.flush();
        child.checkSuccess("listing the table of contents of " + entry.key());
        feeder.interrupt();
      }
    }
  }

  private DumpManifest manifest(String id) throws IOException {
    String key = layout.dumpManifest(DumpIds.require(id));
    Optional<InputStream> in = storage.open(key);
    if (in.isEmpty()) {
      throw JobException.notFound("dump " + id + " not found in " + storage.describe() + " (no " + key
          + "); it does not exist or did not complete: see 'pgsidecar dump list'");
    }
    try (InputStream json = in.get()) {
      return DumpManifest.fromJson(json.readAllBytes(), key);
    }
  }

  private static DumpManifest.Entry entry(DumpManifest manifest, String database) throws IOException {
    return manifest.database(database).orElseThrow(() -> new IOException("dump " + manifest.id()
        + " holds no database " + database + "; it holds "
        + manifest.databases().stream().map(DumpManifest.Entry::name).toList()));
  }

  private DecodedObject open(DumpManifest.Entry entry, String what) throws IOException {
    return DecodedObject.open(storage, pipeline, entry, what);
  }

  private void prepareNewDatabase(PgConnection maintenance, String name, boolean clean)
      throws IOException {
    String exists = tool.run("psql", maintenance, List.of("-XAtq", "-c",
        "select count(*) from pg_database where datname = " + literal(name)),
        "looking for database " + name + " on " + maintenance.describe()).strip();
    if (!"0".equals(exists)) {
      if (!clean) {
        throw JobException.conflict("database " + name + " already exists on " + maintenance.describe()
            + "; restore with --clean to replace the dumped objects in it, or choose another --as"
            + " name");
      }
      return;
    }
    tool.run("psql", maintenance, List.of("-Xq", "-v", "ON_ERROR_STOP=1", "-c",
        "CREATE DATABASE " + identifier(name) + " TEMPLATE template0"),
        "creating database " + name + " on " + maintenance.describe());
  }

  private void restoreStreaming(DecodedObject archive, DumpManifest.Entry entry, PgConnection target,
      List<String> args) throws IOException {
    String what = "restoring " + entry.key() + " into " + target.describe();
    try (PgTool.Child child = tool.start("pg_restore", target, args)) {
      child.discardStdout();
      OutputStream stdin = child.process().getOutputStream();
      byte[] buffer = new byte[1 << 16];
      // A read failure (decoding, storage) ends the restore with its own message; a write failure
      // means pg_restore stopped reading (it has what it needs, or it failed): its status decides.
      for (int n = archive.in().read(buffer); n >= 0; n = archive.in().read(buffer)) {
        try {
          stdin.write(buffer, 0, n);
        } catch (IOException pipeClosed) {
          break;
        }
      }
      try {
        stdin.close();
      } catch (IOException pipeClosed) {
        // same as above
      }
      child.checkSuccess(what);
    }
    archive.verifyToEnd("it changed since it was verified, and pg_restore has read it: do not"
        + " trust this restore");
  }

  /** Decodes the archive into a private temp file and verifies it: pg_restore --jobs reads it. */
  private Path decodeToTempFile(DumpManifest.Entry entry, RestoreOptions options) throws IOException {
    Files.createDirectories(options.tempDir());
    Path file = Files.createTempFile(options.tempDir(), "pgsidecar-restore-", ".dump",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try (DecodedObject archive = open(entry, "pg_dump archive")) {
      archive.checkMagic();
      try (OutputStream out = Files.newOutputStream(file)) {
        archive.in().transferTo(out);
      }
      archive.verifyToEnd();
      return file;
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(file);
      throw e;
    }
  }

  private void restoreFromFile(Path file, DumpManifest.Entry entry, PgConnection target,
      List<String> args, RestoreOptions options) throws IOException {
    List<String> withFile = new ArrayList<>(args);
    withFile.add(file.toString());
    try (PgTool.Child child = tool.start("pg_restore", target, withFile)) {
      child.process().getOutputStream().close();
      child.discardStdout();
      child.checkSuccess("restoring " + entry.key() + " into " + target.describe()
          + " with " + options.jobs() + " jobs");
    }
  }

  static String identifier(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  static String literal(String value) {
    return "'" + value.replace("'", "''") + "'";
  }
}
