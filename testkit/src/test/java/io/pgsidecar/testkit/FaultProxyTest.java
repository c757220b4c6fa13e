package io.pgsidecar.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.core.http.policy.FixedDelayOptions;
import com.azure.core.http.policy.RetryOptions;
import com.azure.core.util.BinaryData;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobContainerClientBuilder;
import com.azure.storage.common.StorageSharedKeyCredential;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class FaultProxyTest {

  /** A client through the proxy that never retries, so each fault shows as one failure. */
  private static BlobContainerClient through(FaultProxy proxy, Azurite azurite) {
    return new BlobContainerClientBuilder().endpoint(proxy.endpoint(Azurite.ACCOUNT))
        .containerName(azurite.container())
        .credential(new StorageSharedKeyCredential(Azurite.ACCOUNT, Azurite.KEY))
        .retryOptions(new RetryOptions(new FixedDelayOptions(0, Duration.ofMillis(1))))
        .buildClient();
  }

  @Test
  void forwardsUntouchedAndDropsTheChosenResponseAfterTheUpstreamActed() throws Exception {
    try (Azurite azurite = Azurite.launch(); FaultProxy proxy = FaultProxy.to(azurite.port())) {
      var blobs = through(proxy, azurite);
      blobs.getBlobClient("plain").upload(BinaryData.fromString("through"));
      assertEquals("through", blobs.getBlobClient("plain").downloadContent().toString());

      proxy.dropResponse(FaultProxy.request("PUT", "/lost"), 1);
      assertThrows(RuntimeException.class,
          () -> blobs.getBlobClient("lost").upload(BinaryData.fromString("arrived")));

      // The upstream stored it although the client saw a failure: the lost-reply case.
      assertEquals("arrived", azurite.containerClient(azurite.container())
          .getBlobClient("lost").downloadContent().toString());
      assertEquals(List.of("DROP_RESPONSE PUT /devstoreaccount1/" + azurite.container() + "/lost"),
          proxy.fired());
      // Armed for one request only: the next goes through.
      blobs.getBlobClient("lost2").upload(BinaryData.fromString("fine"));
    }
  }

  @Test
  void resetForwardsNothingAndRefuseTakesTheStorageDownUntilLifted() throws Exception {
    try (Azurite azurite = Azurite.launch(); FaultProxy proxy = FaultProxy.to(azurite.port())) {
      var blobs = through(proxy, azurite);
      proxy.reset(FaultProxy.request("PUT", "/never"), 1);
      assertThrows(RuntimeException.class,
          () -> blobs.getBlobClient("never").upload(BinaryData.fromString("x")));
      assertTrue(!azurite.containerClient(azurite.container()).getBlobClient("never").exists());

      proxy.refuse(true);
      assertThrows(RuntimeException.class, () -> blobs.getBlobClient("plain").exists());
      proxy.refuse(false);
      blobs.getBlobClient("plain").upload(BinaryData.fromString("back"));

      proxy.delay(FaultProxy.request("GET", "/plain"), Duration.ofMillis(300), 1);
      long start = System.nanoTime();
      assertEquals("back", blobs.getBlobClient("plain").downloadContent().toString());
      assertTrue(System.nanoTime() - start >= 300_000_000L);
    }
  }
}
