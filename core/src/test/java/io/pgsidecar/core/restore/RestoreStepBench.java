package io.pgsidecar.core.restore;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.codec.Pipelines;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.fs.FsStorage;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Times the restore step alone (read from a filesystem repository, decode, hash, unpack) of a
 * tar given on the command line, stored through zstd level 3 as a backup would be. Not a test:
 * run by hand to compare restore-step changes on a local case, e.g.
 * {@code java -cp <test classpath> io.pgsidecar.core.restore.RestoreStepBench pgdata.tar 5 /tmp/x}.
 */
public final class RestoreStepBench {

  public static void main(String[] args) throws Exception {
    Path tar = Path.of(args[0]);
    int runs = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Path work = Files.createTempDirectory(args.length > 2 ? Path.of(args[2]) : tar.getParent(), "bench");
    try {
      Path repo = Files.createDirectory(work.resolve("repo"));
      var storage = new FsStorage(repo);
      var layout = new RepositoryLayout("", "db1");
      CodecPipeline pipeline = Pipelines.zstd(3);
      String id = "20261122T010000Z";
      String dataKey = layout.baseData(id, pipeline.suffix());
      MessageDigest plain = MessageDigest.getInstance("SHA-256");
      MessageDigest stored = MessageDigest.getInstance("SHA-256");
      Path encoded = work.resolve("data.tar.zst");
      try (InputStream in = new DigestInputStream(Files.newInputStream(tar), plain);
          OutputStream out = pipeline.withCompressionWorkers(2).encode(
              new DigestOutputStream(Files.newOutputStream(encoded), stored))) {
        in.transferTo(out);
      }
      long size = Files.size(tar);
      try (InputStream in = Files.newInputStream(encoded)) {
        storage.create(dataKey, in, () -> new ObjectMetadata("", size, pipeline.name(), ""));
      }
      Files.delete(encoded);
      Instant stop = Instant.now().minusSeconds(3600);
      String seg = "000000010000000000000003";
      var m = new BackupManifest(1, id, "", "db1", "7312345678901234567", 150010, 1, "0/3000028",
          "0/3000100", stop.minusSeconds(3), stop, size, Files.size(repo.resolve(dataKey)),
          HexFormat.of().formatHex(stored.digest()), HexFormat.of().formatHex(plain.digest()),
          pipeline.name(), "", dataKey, "bench", seg, seg);
      put(storage, layout.baseManifest(id), m.toJson());
      put(storage, layout.walKey(seg, pipeline.suffix()), new byte[1]);
      var restorer = new Restorer(storage, new ArchiveCatalog(storage, layout), pipeline);
      var settings = new RecoverySettings("/bin/true", Optional.empty(), Optional.empty());
      System.out.printf("tar %d bytes, stored %d bytes%n", size, Files.size(repo.resolve(dataKey)));
      for (int i = 0; i < runs; i++) {
        Path pgdata = work.resolve("pgdata");
        long t0 = System.nanoTime();
        restorer.restore(new Restorer.Request(new DataDirectory(pgdata), RecoveryTarget.latest(),
            Optional.empty(), settings));
        System.out.printf("run %d: restore step %d ms%n", i + 1, (System.nanoTime() - t0) / 1_000_000);
        delete(pgdata);
      }
    } finally {
      delete(work);
    }
  }

  private static void put(FsStorage storage, String key, byte[] b) throws Exception {
    storage.create(key, new ByteArrayInputStream(b), () -> new ObjectMetadata("", b.length, "", ""));
  }

  private static void delete(Path p) throws Exception {
    if (Files.exists(p)) {
      try (Stream<Path> s = Files.walk(p)) {
        for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(q);
        }
      }
    }
  }
}
