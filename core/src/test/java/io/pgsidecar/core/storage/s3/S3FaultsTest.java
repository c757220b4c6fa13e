package io.pgsidecar.core.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.S3Auth;
import io.pgsidecar.core.config.PgsidecarConfig.S3Encryption;
import io.pgsidecar.core.storage.GeneratedContent;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.testkit.FaultProxy;
import io.pgsidecar.testkit.S3Server;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The S3 driver against S3Mock behind a {@link FaultProxy}: replies lost after the service
 * acted, and what the driver puts on the wire.
 */
class S3FaultsTest {

  static final long PART = 5L << 20;
  static final AtomicInteger BUCKETS = new AtomicInteger();
  static S3Server server;
  static FaultProxy proxy;
  final List<String> giveUps = new CopyOnWriteArrayList<>();
  String bucket;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() throws Exception {
    server = S3Server.s3Mock();
    proxy = FaultProxy.to(server.port());
  }

  @AfterAll
  static void stop() {
    proxy.close();
    server.close();
  }

  @BeforeEach
  void heal() throws Exception {
    proxy.clear();
    proxy.refuse(false);
    bucket = server.createBucket("faults" + BUCKETS.incrementAndGet());
  }

  S3Storage storage(S3Encryption sse, String storageClass) throws Exception {
    Path id = S3Server.writeSecret(dir.resolve("id"), S3Server.ACCESS_KEY);
    Path secret = S3Server.writeSecret(dir.resolve("secret"), S3Server.SECRET_KEY);
    var s3 = new PgsidecarConfig.S3(bucket, Optional.of("http://127.0.0.1:" + proxy.port()),
        Optional.of(S3Server.REGION), true, S3Auth.STATIC, Optional.of(id), Optional.of(secret),
        sse, Optional.empty(), Optional.ofNullable(storageClass), PART, 2);
    return S3Storage.open(new PgsidecarConfig.StorageConfig(PgsidecarConfig.StorageType.S3, "",
        Optional.empty(), null, Duration.ofSeconds(10), 5, RetryPolicy.Settings.DEFAULTS.with(
            Duration.ofSeconds(20), Duration.ofMillis(10), Duration.ofMillis(50)), s3),
        (op, what, attempts, elapsed, last) -> giveUps.add(op.label() + " " + what));
  }

  S3Storage storage() throws Exception {
    return storage(S3Encryption.NONE, null);
  }

  Predicate<FaultProxy.Request> on(String method, String keyAndQuery) {
    return r -> r.method().equals(method) && r.decodedTarget().startsWith("/" + bucket + "/"
        + keyAndQuery);
  }

  static ObjectMetadata meta(String sha, long size) {
    return new ObjectMetadata(sha, size, "none", "");
  }

  @Test
  void lostReplyOfASinglePutIsOwnContentAndSucceeds() throws Exception {
    try (S3Storage s = storage()) {
      s.probe(); // the conditional-write check's puts are not the ones to lose
      proxy.dropResponse(on("PUT", "small/backup.json"), 1);

      ObjectInfo info = s.create("small/backup.json", new ByteArrayInputStream(new byte[] {1, 2}),
          () -> meta("ab12", 2));

      assertEquals(1, proxy.fired().size(), proxy.requests().toString());
      assertEquals(2, proxy.requests().stream().filter(on("PUT", "small/backup.json")).count());
      assertEquals(2, info.storedSize());
      assertEquals("ab12", s.stat("small/backup.json").orElseThrow().metadata().plainSha256());
      assertEquals(List.of(), giveUps);
    }
  }

  @Test
  void lostReplyOfTheConditionalMultipartCompletionIsOwnContentAndSucceeds() throws Exception {
    try (S3Storage s = storage()) {
      long size = 2 * PART + 7;
      var content = new GeneratedContent(5, size);
      proxy.dropResponse(on("POST", "base/1/data.tar?uploadId="), 1);

      ObjectInfo info = s.create("base/1/data.tar", content, () -> meta(content.sha256(), size));

      assertEquals(1, proxy.fired().size(), proxy.requests().toString());
      assertEquals(2, proxy.requests().stream().filter(on("POST", "base/1/data.tar?uploadId="))
          .count(), proxy.requests().toString());
      assertEquals(content.sha256(), info.metadata().plainSha256());
      assertEquals(content.sha256(),
          GeneratedContent.sha256Of(s.open("base/1/data.tar").orElseThrow()));
      try (var listed = s.list("base/")) {
        assertEquals(List.of("base/1/data.tar"), listed.map(ObjectInfo::key).toList());
      }
    }
  }

  @Test
  void lostReplyOfAPartIsRetriedAndTheObjectIsWhole() throws Exception {
    try (S3Storage s = storage()) {
      long size = 3 * PART + 1;
      var content = new GeneratedContent(6, size);
      proxy.dropResponse(r -> r.method().equals("PUT") && r.decodedTarget().contains("partNumber=2"), 1);

      s.create("base/2/data.tar", content, () -> meta(content.sha256(), size));

      assertEquals(1, proxy.fired().size(), proxy.requests().toString());
      assertEquals(content.sha256(),
          GeneratedContent.sha256Of(s.open("base/2/data.tar").orElseThrow()));
    }
  }

  @Test
  void resetDuringARangedReadCostsOneRangeAndTheContentIsExact() throws Exception {
    try (S3Storage s = storage()) {
      long size = 3 * PART + 3;
      var content = new GeneratedContent(7, size);
      s.create("base/3/data.tar", content, () -> meta(content.sha256(), size));
      proxy.clear();
      proxy.reset(r -> r.method().equals("GET") && r.decodedTarget().startsWith(
          "/" + bucket + "/base/3/data.tar") && r.headers().stream()
              .anyMatch(h -> h.toLowerCase().startsWith("range: bytes=" + (2 * PART))), 1);

      assertEquals(content.sha256(),
          GeneratedContent.sha256Of(s.open("base/3/data.tar").orElseThrow()));
      assertEquals(1, proxy.fired().size(), proxy.requests().toString());
    }
  }

  @Test
  void deleteWhoseReplyIsLostIsRetriedAndCountsAsDeleted() throws Exception {
    try (S3Storage s = storage()) {
      s.create("lost/dump.json", new ByteArrayInputStream(new byte[] {1}), () -> meta("aa", 1));
      proxy.dropResponse(on("DELETE", "lost/dump.json"), 1);

      assertTrue(s.delete("lost/dump.json"));

      assertEquals(1, proxy.fired().size(), proxy.requests().toString());
      assertEquals(2, proxy.requests().stream().filter(on("DELETE", "lost/dump.json")).count());
      assertEquals(Optional.empty(), s.stat("lost/dump.json"));
      assertFalse(s.delete("lost/dump.json"));
      assertEquals(List.of(), giveUps);
    }
  }

  @Test
  void lostReplyOfTheConditionalWriteChecksFirstPutDoesNotFailTheStart() throws Exception {
    try (S3Storage s = storage()) {
      proxy.dropResponse(r -> r.method().equals("PUT")
          && r.decodedTarget().contains(".pgsidecar-conditional-write-check-"), 1);

      s.probe();

      assertEquals(1, proxy.fired().size(), proxy.requests().toString());
      // first put, its retry (412: its own marker), the second put (412), the marker's delete
      assertEquals(3, proxy.requests().stream().filter(r -> r.method().equals("PUT")).count(),
          proxy.requests().toString());
      s.create("after/probe", new ByteArrayInputStream(new byte[] {1}), () -> meta("01", 1));
      try (var listed = s.list("")) {
        assertEquals(List.of("after/probe"), listed.map(ObjectInfo::key).toList());
      }
    }
  }

  @Test
  void serverSideEncryptionAndStorageClassAreAskedForOnEveryObject() throws Exception {
    try (S3Storage s = storage(S3Encryption.AES256, "STANDARD_IA")) {
      s.create("small", new ByteArrayInputStream(new byte[] {1}), () -> meta("01", 1));
      var big = new GeneratedContent(3, PART + 5);
      s.create("big", big, () -> meta(big.sha256(), PART + 5));

      for (var target : List.of(on("PUT", "small"), on("POST", "big?uploads"))) {
        var request = proxy.requests().stream().filter(target).findFirst().orElseThrow();
        var headers = request.headers().stream().map(String::toLowerCase).toList();
        assertTrue(headers.contains("x-amz-server-side-encryption: aes256"), headers.toString());
        assertTrue(headers.contains("x-amz-storage-class: standard_ia"), headers.toString());
        assertTrue(headers.stream().anyMatch(h -> h.startsWith("x-amz-meta-plain-sha256: ")),
            headers.toString());
      }
      assertEquals(big.sha256(), s.stat("big").orElseThrow().metadata().plainSha256());
    }
  }
}
