package io.pgsidecar.agent.verify;

import io.pgsidecar.agent.postgres.PgConnection;
import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.core.verify.Scratch;
import io.pgsidecar.core.verify.StoredObjects;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code pgsidecar dump verify ID [--restore]}:
 * <ol>
 *   <li>reads every object of the dump back to its end, checking its stored size and its plain
 *       SHA-256 and size against {@code dump.json} and the object's metadata;</li>
 *   <li>feeds each database archive, while it is read, to {@code pg_restore --list}, which must
 *       read its table of contents and succeed (and the archive must start with pg_dump's
 *       {@code PGDMP});</li>
 *   <li>with {@code restore}: initdb's a scratch server on a private socket under
 *       {@code verify.work-dir}, restores every database into it with {@code pg_restore
 *       --create --no-owner --no-privileges} (the verify feature does not reach into the dump
 *       feature's restorer), counts each database's tables, stops the server and removes
 *       it.</li>
 * </ol>
 */
public final class DumpVerifier {

  static final String REMEDY = "the dump cannot be trusted: take a new one (pgsidecar dump create)"
      + " and find out what changed the stored object";

  private final Storage storage;
  private final RepositoryLayout layout;
  private final CodecPipeline pipeline;
  private final VerifySettings settings;

  public DumpVerifier(Storage storage, RepositoryLayout layout, CodecPipeline pipeline,
      VerifySettings settings) {
    this.storage = storage;
    this.layout = layout;
    this.pipeline = pipeline;
    this.settings = settings;
  }

  public DumpVerification verify(String id, boolean restore) {
    StoredManifest which = new StoredManifest("dump", id);
    DumpManifest m = manifest(which);
    Steps steps = new Steps();
    try {
      List<DumpVerification.DumpObject> objects = new ArrayList<>();
      if (m.globals() != null) {
        objects.add(steps.time("check " + m.globals().key(), () -> check(m, m.globals(), false)));
      }
      for (DumpManifest.Entry e : m.databases()) {
        objects.add(steps.time("check " + e.key(), () -> check(m, e, true)));
      }
      Map<String, Long> tables = restore ? restore(m, steps) : Map.of();
      return new DumpVerification(id, objects, restore, tables, steps.millis(),
          steps.totalMillis());
    } catch (Exception e) {
      throw which.failure(e);
    }
  }

  private DumpManifest manifest(StoredManifest which) {
    return which.read(storage, layout.dumpManifest(which.id()), storage.describe(),
        DumpManifest::fromJson);
  }

  /** Steps 1 and 2 for one object. */
  private DumpVerification.DumpObject check(DumpManifest m, DumpManifest.Entry e, boolean archive) {
    int[] toc = {0};
    String what = "dump " + m.id();
    StoredObjects.Checked c = StoredObjects.check(storage, pipeline, what, e.key(), e.codec(),
        new StoredObjects.Expected("dump.json", "", e.storedSize(), e.plainSha256(), e.rawSize()),
        archive ? in -> toc[0] = listContents(what, e, in) : StoredObjects.PlainReader.DISCARD,
        REMEDY);
    return new DumpVerification.DumpObject(e.name(), e.key(), c.storedSize(), c.plainSize(),
        c.plainSha256(), c.checks(), toc[0]);
  }

  /** {@code pg_restore --list} fed with the archive as it is read; the entries it listed. */
  private int listContents(String what, DumpManifest.Entry e, InputStream plain) throws IOException {
    byte[] magic = plain.readNBytes(5);
    if (!Arrays.equals(magic, "PGDMP".getBytes(StandardCharsets.US_ASCII))) {
      throw JobException.verificationFailed(what + ": " + e.key() + " is not a pg_dump custom"
          + " archive (it does not start with PGDMP); " + REMEDY);
    }
    PgTool tool = new PgTool(settings.binDir());
    try (PgTool.Child child = tool.start("pg_restore", PgConnection.local(), List.of("--list"))) {
      IOException[] readFailure = {null};
      Thread feeder = Thread.ofVirtual().name("pg_restore-list-feed").start(() -> {
        try (OutputStream stdin = child.process().getOutputStream()) {
          stdin.write(magic);
          byte[] buf = new byte[64 * 1024];
          while (true) {
            int n;
            try {
              n = plain.read(buf);
            } catch (IOException failed) {
              readFailure[0] = failed; // the object itself: that is the cause, not pg_restore's EOF
              return;
            }
            if (n < 0) {
              return;
            }
            stdin.write(buf, 0, n);
          }
        } catch (IOException ignored) {
          // pg_restore --list stops reading after the table of contents: the rest is hashed later
        }
      });
      String out = new String(child.process().getInputStream().readAllBytes(),
          StandardCharsets.UTF_8);
      int code = child.waitFor();
      try {
        feeder.join();
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", ie);
      }
      if (readFailure[0] != null) {
        throw readFailure[0];
      }
      if (code != 0) {
        throw JobException.verificationFailed(what + ": pg_restore --list cannot read " + e.key()
            + ": " + child.stderr().replace('\n', ' ') + "; " + REMEDY);
      }
      return (int) out.lines().filter(l -> !l.isBlank() && !l.startsWith(";")).count();
    }
  }

  /**
   * One database into the scratch server: {@code pg_restore --create} (into {@code postgres}
   * itself for the {@code postgres} database) fed with the archive read a second time (checked
   * on the first). Without owners and privileges: the scratch server has none of the dumped
   * roles, and the globals script was checked by its checksum.
   */
  private void pgRestore(DumpManifest m, DumpManifest.Entry e, PgConnection target)
      throws IOException {
    List<String> args = new ArrayList<>(List.of("--no-owner", "--no-privileges", "--exit-on-error"));
    if (!e.name().equals("postgres")) {
      args.add("--create");
    }
    args.addAll(List.of("-d", "postgres"));
    PgTool tool = new PgTool(settings.binDir());
    try (InputStream raw = storage.open(e.key()).orElseThrow(() -> new IOException(e.key()
            + " disappeared while being verified; run the verification again"));
        InputStream plain = pipeline.decode(raw, e.codec(), e.key());
        PgTool.Child child = tool.start("pg_restore", target, args)) {
      child.discardStdout();
      try (OutputStream stdin = child.process().getOutputStream()) {
        plain.transferTo(stdin);
      } catch (IOException stopped) {
        // pg_restore stopped reading: its exit code and stderr say why
      }
      if (child.waitFor() != 0) {
        throw JobException.verificationFailed("dump " + m.id() + ": pg_restore of " + e.key()
            + " into a scratch server failed: " + child.stderr().replace('\n', ' ') + "; "
            + REMEDY);
      }
    }
  }

  /** Step 3. */
  private Map<String, Long> restore(DumpManifest m, Steps steps) throws Exception {
    Map<String, Long> tables = new LinkedHashMap<>();
    Programs programs = settings.programs();
    try (Scratch scratch = Scratch.create(settings.workDir(), "dump-" + m.id())) {
      Path data = scratch.path().resolve("data");
      Path sock = scratch.dir("s");
      programs.handOver(scratch.path());
      steps.time("initdb", () -> {
        Programs.Outcome o = programs.run("initdb", List.of("-D", data.toString(), "-U",
            settings.user(), "-A", "trust", "--no-sync"), Map.of(), settings.timeout());
        if (o.exitCode() != 0) {
          throw new JobException(JobException.Kind.FAILED, "initdb of the scratch server failed: "
              + o.said(), null);
        }
        return null;
      });
      try (ScratchServer server = new ScratchServer(programs, data, sock,
          scratch.path().resolve("server.log"), settings.timeout(), settings.user())) {
        server.configure();
        programs.handOver(scratch.path());
        steps.time("start scratch server", () -> {
          server.start();
          return null;
        });
        PgConnection target = new PgConnection(sock.toString(), 5432, settings.user(), "postgres",
            Optional.empty(), Map.of());
        for (DumpManifest.Entry e : m.databases()) {
          steps.time("restore " + e.name(), () -> {
            pgRestore(m, e, target);
            return null;
          });
          tables.put(e.name(), Long.parseLong(server.query(e.name(), "SELECT count(*) FROM"
              + " pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind"
              + " IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')")));
        }
      }
    }
    return tables;
  }
}
