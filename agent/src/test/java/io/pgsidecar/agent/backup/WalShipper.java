package io.pgsidecar.agent.backup;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * Test stand-in for the agent's WAL push: PostgreSQL's archive_command copies each file into a
 * directory ({@code cp} then {@code mv}), and this thread uploads every new file into storage
 * under {@link RepositoryLayout#walKey}, encoded with the pipeline, as the agent would. It can be
 * paused to play a WAL push that lags or is down.
 */
final class WalShipper implements AutoCloseable {

  private final Path archiveDir;
  private final Storage storage;
  private final RepositoryLayout layout;
  private final CodecPipeline pipeline;
  private final Set<String> shipped = new HashSet<>();
  private final Thread thread;
  volatile boolean paused;

  WalShipper(Path archiveDir, Storage storage, RepositoryLayout layout, CodecPipeline pipeline) {
    this.archiveDir = archiveDir;
    this.storage = storage;
    this.layout = layout;
    this.pipeline = pipeline;
    this.thread = Thread.ofVirtual().name("test-wal-shipper").start(this::loop);
  }

  private void loop() {
    try {
      while (!Thread.currentThread().isInterrupted()) {
        if (!paused) {
          try {
            shipNew();
          } catch (IOException e) {
            // storage down: try again, as PostgreSQL retries a failed archive_command
          }
        }
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      // closed
    }
  }

  private void shipNew() throws IOException {
    try (var files = Files.list(archiveDir)) {
      for (Path f : (Iterable<Path>) files.sorted()::iterator) {
        String name = f.getFileName().toString();
        if (name.endsWith(".tmp") || shipped.contains(name)) {
          continue;
        }
        byte[] plain = Files.readAllBytes(f);
        var encoded = new ByteArrayOutputStream();
        try (OutputStream enc = pipeline.encode(encoded)) {
          enc.write(plain);
        }
        String sha;
        try {
          sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(plain));
        } catch (java.security.NoSuchAlgorithmException e) {
          throw new IllegalStateException(e);
        }
        try {
          storage.create(layout.walKey(name, pipeline.suffix()),
              new ByteArrayInputStream(encoded.toByteArray()),
              () -> new ObjectMetadata(sha, plain.length, pipeline.name(), pipeline.keyFingerprint()));
        } catch (ObjectExistsException e) {
          // shipped by an earlier shipper of the same storage
        }
        shipped.add(name);
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    thread.interrupt();
    thread.join();
  }
}
