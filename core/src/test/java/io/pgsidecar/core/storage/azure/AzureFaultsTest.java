package io.pgsidecar.core.storage.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.storage.GeneratedContent;
import io.pgsidecar.core.storage.ObjectConflictException;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.testkit.Azurite;
import io.pgsidecar.testkit.FaultProxy;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Azure driver against Azurite behind a {@link FaultProxy}: replies lost after the service
 * acted, and storage that refuses every connection.
 */
class AzureFaultsTest {

  static final int BLOCK = 64 * 1024;
  static Azurite azurite;
  static FaultProxy proxy;
  final List<String> giveUps = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    azurite = Azurite.launch();
    proxy = FaultProxy.to(azurite.port());
  }

  @AfterAll
  static void stop() {
    proxy.close();
    azurite.close();
  }

  @BeforeEach
  void heal() {
    proxy.clear();
    proxy.refuse(false);
  }

  /** The configured driver through the proxy: one SDK try per request, our retries. */
  AzureStorage storage(RetryPolicy.Settings retry) throws Exception {
    String connection = "DefaultEndpointsProtocol=http;AccountName=" + Azurite.ACCOUNT
        + ";AccountKey=" + Azurite.KEY + ";BlobEndpoint=" + proxy.endpoint(Azurite.ACCOUNT) + ";";
    var azure = new PgsidecarConfig.Azure(PgsidecarConfig.AzureAuth.CONNECTION_STRING,
        Optional.of(connection), Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), azurite.container(), BLOCK, 2, Optional.empty());
    return AzureStorage.open(new PgsidecarConfig.StorageConfig(PgsidecarConfig.StorageType.AZURE,
        "", Optional.empty(), azure, Duration.ofSeconds(10), 5, retry),
        (op, what, attempts, elapsed, last) -> giveUps.add(op.label() + " " + what));
  }

  static Predicate<FaultProxy.Request> put(String key, boolean blockList) {
    return r -> r.method().equals("PUT") && r.decodedTarget().contains("/" + key)
        && r.decodedTarget().contains("comp=blocklist") == blockList && (blockList
            || !r.decodedTarget().contains("comp="));
  }

  @Test
  void lostReplyOfABlockListCommitIsOwnContentAndSucceeds() throws Exception {
    try (AzureStorage s = storage(RetryPolicy.Settings.DEFAULTS)) {
      proxy.dropResponse(put("staged/obj", true), 1);
      var content = new GeneratedContent(1, 5 * BLOCK + 7);

      ObjectInfo info = s.create("staged/obj", content, () -> meta(content.sha256(), 5 * BLOCK + 7));

      assertEquals(1, proxy.fired().size(), proxy.requests().toString());
      assertEquals(content.sha256(), info.metadata().plainSha256());
      assertEquals(content.sha256(), GeneratedContent.sha256Of(s.open("staged/obj").orElseThrow()));
      assertEquals(List.of(), giveUps);
    }
  }

  @Test
  void lostReplyOfASingleRequestUploadIsOwnContentAndSucceeds() throws Exception {
    try (AzureStorage s = storage(RetryPolicy.Settings.DEFAULTS)) {
      proxy.dropResponse(put("small/backup.json", false), 1);

      ObjectInfo info = s.create("small/backup.json", new ByteArrayInputStream(new byte[] {1, 2}),
          () -> meta("ab12", 2));

      assertEquals(1, proxy.fired().size(), proxy.requests().toString());
      assertEquals(2, info.storedSize());
      assertEquals("ab12", s.stat("small/backup.json").orElseThrow().metadata().plainSha256());
    }
  }

  @Test
  void deleteWhoseReplyIsLostCountsAsDeletedWhenItsRetryFindsTheBlobGone() throws Exception {
    try (AzureStorage s = storage(RetryPolicy.Settings.DEFAULTS.with(Duration.ofSeconds(20),
        Duration.ofMillis(10), Duration.ofMillis(50)))) {
      s.create("lost/dump.json", new ByteArrayInputStream(new byte[] {1}), () -> meta("aa", 1));
      proxy.dropResponse(r -> r.method().equals("DELETE")
          && r.decodedTarget().contains("/lost/dump.json"), 1);

      assertTrue(s.delete("lost/dump.json"), "the retry met the 404 of its own delete");

      assertEquals(1, proxy.fired().size(), proxy.requests().toString());
      assertEquals(2, proxy.requests().stream().filter(r -> r.method().equals("DELETE")).count(),
          proxy.requests().toString());
      assertEquals(Optional.empty(), s.stat("lost/dump.json"));
      // Answered deletes keep their meaning: a second delete finds nothing.
      assertFalse(s.delete("lost/dump.json"));
      assertEquals(List.of(), giveUps);
    }
  }

  @Test
  void otherContentUnderTheKeyIsALoudConflictAndStaysUntouched() throws Exception {
    try (AzureStorage s = storage(RetryPolicy.Settings.DEFAULTS)) {
      s.create("conflict/dump.json", new ByteArrayInputStream(new byte[] {1}), () -> meta("aa", 1));

      var e = assertThrows(ObjectConflictException.class, () -> s.create("conflict/dump.json",
          new ByteArrayInputStream(new byte[] {2}), () -> meta("bb", 1)));

      assertTrue(e.getMessage().startsWith("object conflict/dump.json already exists with other"
          + " content (stored: SHA-256 aa, 1 bytes; this write: SHA-256 bb, 1 bytes)"), e.getMessage());
      assertEquals("aa", s.stat("conflict/dump.json").orElseThrow().metadata().plainSha256());
    }
  }

  @Test
  void resetConnectionsAreRetriedByTheOneLayer() throws Exception {
    try (AzureStorage s = storage(RetryPolicy.Settings.DEFAULTS.with(Duration.ofSeconds(20),
        Duration.ofMillis(10), Duration.ofMillis(50)))) {
      proxy.reset(r -> r.method().equals("PUT") && r.decodedTarget().contains("comp=block&"), 2);
      var content = new GeneratedContent(2, 3 * BLOCK);

      s.create("reset/obj", content, () -> meta(content.sha256(), 3 * BLOCK));

      assertEquals(2, proxy.fired().size(), proxy.fired().toString());
      assertEquals(content.sha256(), GeneratedContent.sha256Of(s.open("reset/obj").orElseThrow()));
    }
  }

  @Test
  void deadStorageGivesUpWithinTheDeadlineOnceAndCounted() throws Exception {
    try (AzureStorage s = storage(RetryPolicy.Settings.DEFAULTS.withMaxRetries(100)
        .with(Duration.ofSeconds(2), Duration.ofMillis(50), Duration.ofMillis(400)))) {
      proxy.refuse(true);
      long t0 = System.nanoTime();

      var e = assertThrows(StorageException.class, () -> s.stat("wal/seg.zst"));

      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms < 3_000, "gave up after " + ms + " ms with a 2 s deadline");
      assertTrue(e.getMessage().startsWith("stat of wal/seg.zst in azure://devstoreaccount1/"),
          e.getMessage());
      assertEquals(List.of("read stat of wal/seg.zst"), giveUps);
    }
  }

  private static ObjectMetadata meta(String sha, long size) {
    return new ObjectMetadata(sha, size, "zstd", "");
  }
}
