package io.pgsidecar.core.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.S3Auth;
import io.pgsidecar.core.config.PgsidecarConfig.S3Encryption;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.testkit.S3Server;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store without conditional writes is refused: s3proxy 2.6.0 accepts {@code If-None-Match: *}
 * and overwrites anyway (checked here first), S3Mock answers 412.
 */
class S3ConditionalWritesTest {

  @TempDir
  Path dir;

  private S3Storage open(S3Server server, String prefix) throws Exception {
    Path id = S3Server.writeSecret(dir.resolve("id"), S3Server.ACCESS_KEY);
    Path secret = S3Server.writeSecret(dir.resolve("secret"), S3Server.SECRET_KEY);
    var cfg = new PgsidecarConfig.S3(server.bucket(), Optional.of(server.endpoint()),
        Optional.of(S3Server.REGION), true, S3Auth.STATIC, Optional.of(id), Optional.of(secret),
        S3Encryption.NONE, Optional.empty(), Optional.empty(), 5L << 20, 2);
    return S3Storage.open(cfg, prefix, Duration.ofSeconds(30), RetryPolicy.defaults());
  }

  @Test
  void storeThatOverwritesDespiteIfNoneMatchIsRefusedAtProbeAndCreate() throws Exception {
    try (var s3proxy = S3Server.s3Proxy()) {
      // What makes s3proxy the store to refuse: the second conditional put is accepted.
      assertEquals(200, s3proxy.putIfNoneMatch("plain/k", "first"));
      assertEquals(200, s3proxy.putIfNoneMatch("plain/k", "second"));
      assertEquals("second", s3proxy.get("plain/k"));

      try (var s = open(s3proxy, "prod")) {
        var probe = assertThrows(StorageException.class, s::probe);
        String expected = "the S3 store at " + s3proxy.endpoint() + " (bucket " + s3proxy.bucket()
            + ") accepted If-None-Match: * and overwrote an existing object (prod/.pgsidecar-"
            + "conditional-write-check-";
        assertEquals(expected, probe.getMessage().substring(0, expected.length()));
        assertEquals("): it has no conditional writes, so pgsidecar could overwrite archived WAL"
            + " and backups there. Refusing to write. Use a store that answers 412 Precondition"
            + " Failed to a put of an existing key with If-None-Match: * (AWS S3, MinIO since"
            + " RELEASE.2024-11, Ceph RGW since Squid, S3Mock)",
            probe.getMessage().substring(probe.getMessage().indexOf("): it has")));

        var create = assertThrows(StorageException.class, () -> s.create("prod/wal/1",
            new ByteArrayInputStream(new byte[] {1}), () -> StorageTestMeta.meta()));
        assertEquals(probe.getMessage().substring(0, expected.length()),
            create.getMessage().substring(0, expected.length()));
        // Nothing was written, and the check's marker was removed.
        assertEquals(Optional.empty(), s.stat("prod/wal/1"));
        assertEquals(null, s3proxy.get("prod/wal/1"));
        String marker = probe.getMessage().substring(probe.getMessage().indexOf("(prod/") + 1,
            probe.getMessage().indexOf("): it has"));
        assertEquals(null, s3proxy.get(marker), marker);
        try (var listed = s.list("plain/")) {
          // s3proxy's filesystem backend also lists its directory "plain/"
          assertEquals(List.of("plain/k"), listed.map(i -> i.key())
              .filter(k -> !k.endsWith("/")).toList());
        }
      }
    }
  }

  @Test
  void storeWithConditionalWritesPassesTheCheckOnce() throws Exception {
    try (var s3mock = S3Server.s3Mock()) {
      assertEquals(200, s3mock.putIfNoneMatch("plain/k", "first"));
      assertEquals(412, s3mock.putIfNoneMatch("plain/k", "second"));
      assertEquals("first", s3mock.get("plain/k"));
      try (var s = open(s3mock, "")) {
        s.probe();
        s.create("wal/1", new ByteArrayInputStream(new byte[] {1}), StorageTestMeta::meta);
        try (var listed = s.list("")) {
          assertEquals(List.of("plain/k", "wal/1"), listed.map(i -> i.key()).toList());
        }
      }
    }
  }

  /** Metadata for the objects of these tests. */
  static final class StorageTestMeta {
    static io.pgsidecar.core.storage.ObjectMetadata meta() {
      return new io.pgsidecar.core.storage.ObjectMetadata("01", 1, "none", "", Map.of());
    }
  }
}
