package io.pgsidecar.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.core.util.BinaryData;
import com.azure.storage.blob.BlobContainerClientBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AzuriteTest {

  @TempDir
  Path dir;

  @Test
  void restartKeepsPortAndBlobsAndStopRefusesConnections() throws Exception {
    try (Azurite azurite = Azurite.launch("restart")) {
      var blobs = azurite.containerClient("restart");
      blobs.getBlobClient("a/b").upload(BinaryData.fromString("kept"));

      azurite.stop();
      assertThrows(IOException.class, () -> {
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", azurite.port()), 1000);
        }
      });
      azurite.start();

      assertEquals("kept", blobs.getBlobClient("a/b").downloadContent().toString());
    }
  }

  @Test
  void sasTokenAndKeyFileGiveAccessToTheContainer() throws Exception {
    try (Azurite azurite = Azurite.launch()) {
      Path key = azurite.writeKeyFile(dir.resolve("key"));
      assertEquals(Azurite.KEY, Files.readString(key).strip());
      assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(key)));

      var viaSas = new BlobContainerClientBuilder().endpoint(azurite.endpoint())
          .containerName(azurite.container()).sasToken(azurite.sasToken()).buildClient();
      viaSas.getBlobClient("x").upload(BinaryData.fromString("sas"));
      assertTrue(viaSas.listBlobs().stream().anyMatch(b -> b.getName().equals("x")));
    }
  }
}
