package io.pgsidecar.agent.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.agent.dump.DumpService;
import io.pgsidecar.agent.postgres.PgConnection;
import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.io.DigestingInputStream;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.DumpManifest;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.fs.FsStorage;
import io.pgsidecar.testkit.PostgresCluster;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code dump verify} on real pg_dump output taken by the agent's DumpService. */
class DumpVerifierTest {

  static final Path WORK = VerifyFixture.sharedDir("pgsidecar-verify-work-");

  @RegisterExtension
  static final PostgresCluster PG = PostgresCluster.builder().build();

  @TempDir
  Path tmp;

  private final CodecPipeline zstd = Pipelines.zstd(3);

  @BeforeAll
  static void data() {
    PG.sql("CREATE DATABASE app");
    PG.psql("-d", "app", "-c", "CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 500) g;"
        + " CREATE TABLE customers (id int primary key)");
  }

  @AfterAll
  static void workDirIsEmpty() throws Exception {
    try (var left = Files.list(WORK)) {
      assertEquals(List.of(), left.toList(), "scratch directories left behind");
    }
  }

  private DumpManifest dump(Storage storage) throws Exception {
    DumpService service = new DumpService(storage, zstd, VerifyFixture.LAYOUT,
        new PgTool(PG.binDir()), new PgConnection("127.0.0.1", PG.port(), "postgres", "postgres",
        Optional.empty(), Map.of()), new PgsidecarConfig.Dump(List.of(), List.of(), false),
        Runnable::run, Clock.systemUTC(), Optional::empty);
    return service.create(List.of("app"), "verify test");
  }

  private DumpVerifier verifier(Storage storage) {
    return new DumpVerifier(storage, VerifyFixture.LAYOUT, zstd,
        VerifyFixture.settings(PG, WORK, VerifySettings.DEFAULT_PROBE));
  }

  @Test
  void aGoodDumpVerifiesAndRestoresIntoAScratchServer() throws Exception {
    try (Storage storage = new FsStorage(Files.createDirectories(tmp.resolve("repo")))) {
      DumpManifest m = dump(storage);
      DumpVerification v = verifier(storage).verify(m.id(), true);
      assertEquals(2, v.objects().size());
      DumpVerification.DumpObject app = v.objects().get(1);
      assertEquals("app", app.name());
      assertEquals(m.database("app").orElseThrow().plainSha256(), app.plainSha256());
      assertEquals(List.of("stored bytes size match dump.json",
          "content SHA-256 and size match dump.json", "content SHA-256 and size match its metadata"),
          app.checks());
      assertTrue(app.tocEntries() >= 4, "pg_restore --list entries: " + app.tocEntries());
      assertEquals(Map.of("app", 2L), v.tables());
    }
  }

  @Test
  void aFlippedByteInADatabaseArchiveIsNamed() throws Exception {
    Path repo = tmp.resolve("repo");
    try (Storage storage = new FsStorage(Files.createDirectories(repo))) {
      DumpManifest m = dump(storage);
      DumpManifest.Entry app = m.database("app").orElseThrow();
      Path file = repo.resolve(app.key());
      // a byte of a zstd frame's content: decoding fails or yields other bytes, either way named
      try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
        f.seek(f.length() / 2);
        int b = f.read();
        f.seek(f.length() / 2);
        f.write(b ^ 0x40);
      }
      JobException e = assertThrows(JobException.class, () -> verifier(storage).verify(m.id(), false));
      assertEquals(JobException.Kind.VERIFICATION_FAILED, e.kind());
      assertTrue(e.getMessage().startsWith("dump " + m.id() + ": " + app.key() + " cannot be read"
          + " back: "), e.getMessage());
      assertTrue(e.getMessage().endsWith("; the dump cannot be trusted: take a new one (pgsidecar"
          + " dump create) and find out what changed the stored object"), e.getMessage());
    }
  }

  @Test
  void aDumpWhoseArchiveIsNotAPgDumpArchiveFailsPgRestoreList() throws Exception {
    try (Storage storage = new FsStorage(Files.createDirectories(tmp.resolve("repo")))) {
      DumpManifest m = dump(storage);
      DumpManifest.Entry app = m.database("app").orElseThrow();
      // stored consistently (every checksum matches) but cut after its header
      byte[] plain;
      try (var in = zstd.decode(storage.open(app.key()).orElseThrow(), app.codec(), app.key())) {
        plain = java.util.Arrays.copyOf(in.readAllBytes(), 40);
      }
      var enc = new java.io.ByteArrayOutputStream();
      try (var o = zstd.encode(enc)) {
        o.write(plain);
      }
      String sha = HexFormat.of().formatHex(DigestingInputStream.sha256().digest(plain));
      storage.delete(app.key());
      storage.delete(VerifyFixture.LAYOUT.dumpManifest(m.id()));
      storage.create(app.key(), new java.io.ByteArrayInputStream(enc.toByteArray()),
          () -> new io.pgsidecar.core.storage.ObjectMetadata(sha, plain.length, zstd.name(), ""));
      DumpManifest cut = new DumpManifest(m.format(), m.id(), m.label(), m.cluster(),
          m.serverVersion(), m.startTime(), m.stopTime(), m.globals(),
          List.of(new DumpManifest.Entry("app", app.key(), plain.length, enc.size(), sha,
              app.codec(), "")), m.agentVersion());
      byte[] json = cut.toJson();
      storage.create(VerifyFixture.LAYOUT.dumpManifest(m.id()),
          new java.io.ByteArrayInputStream(json),
          () -> new io.pgsidecar.core.storage.ObjectMetadata("", json.length, "", ""));
      JobException e = assertThrows(JobException.class, () -> verifier(storage).verify(m.id(), false));
      assertEquals(JobException.Kind.VERIFICATION_FAILED, e.kind());
      assertEquals("dump " + m.id() + ": pg_restore --list cannot read " + app.key()
          + ": pg_restore: error: could not read from input file: end of file; the dump cannot be"
          + " trusted: take a new one (pgsidecar dump create) and find out what changed the stored"
          + " object", e.getMessage());
    }
  }

  @Test
  void anUnknownDumpIsNotFound() throws Exception {
    try (Storage storage = new FsStorage(Files.createDirectories(tmp.resolve("repo")))) {
      dump(storage);
      JobException e = assertThrows(JobException.class,
          () -> verifier(storage).verify("20200101T000000Z", false));
      assertEquals(JobException.Kind.NOT_FOUND, e.kind());
      assertEquals("dump 20200101T000000Z does not exist in file://" + tmp.resolve("repo")
          + " (no test/db1/dumps/20200101T000000Z/dump.json); list the dumps with pgsidecar dump"
          + " list", e.getMessage());
    }
  }
}
