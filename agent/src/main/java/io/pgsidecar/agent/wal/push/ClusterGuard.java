package io.pgsidecar.agent.wal.push;

import java.lang.System.Logger.Level;
import io.pgsidecar.core.job.JobException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgsidecar.agent.storage.Retry;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * Guards the archive path against a second server: {@code cluster.json} records the system
 * identifier and major version of the first server that archived there; a server with another
 * system identifier is refused on every push. Two servers writing one path is the classic
 * "Expected empty archive" accident: their segment names collide and each overwrites, or is
 * refused by, the other's history. The same identifier after a point-in-time restore is fine.
 */
public final class ClusterGuard {

  private static final System.Logger LOG = System.getLogger(ClusterGuard.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();
  static final int FORMAT_VERSION = 1;

  private final Storage storage;
  private final RepositoryLayout layout;
  private final Path pgdata;
  private final Retry retry;
  private volatile ServerIdentity verified;

  public ClusterGuard(Storage storage, RepositoryLayout layout, Path pgdata, Retry retry) {
    this.storage = storage;
    this.layout = layout;
    this.pgdata = pgdata;
    this.retry = retry;
  }

  /**
   * Passes when this server may archive into the path; creates {@code cluster.json} on the first
   * push. Re-reads pg_control every time (8 bytes) so a replaced data directory is noticed.
   *
   * @throws JobException REFUSED (409) naming the path and both identifiers when another server owns it
   */
  public void check() throws IOException {
    ServerIdentity server = ServerIdentity.read(pgdata);
    if (server.equals(verified)) {
      return;
    }
    synchronized (this) {
      if (server.equals(verified)) {
        return;
      }
      String key = layout.clusterJson();
      Optional<JsonNode> stored = readStored(key);
      if (stored.isEmpty()) {
        stored = Optional.of(create(key, server));
      }
      String owner = stored.get().path("systemIdentifier").asText("");
      if (!owner.equals(server.systemIdentifier())) {
        throw JobException.refused("refusing to archive into " + storage.describe() + " " + key
            + ": it belongs to the PostgreSQL server with system identifier " + owner
            + ", but the server in " + pgdata + " has system identifier " + server.systemIdentifier()
            + "; two servers must never archive into one path (PostgreSQL's \"Expected empty"
            + " archive\" accident): give this server its own cluster name or an empty path")
            .with("path", key).with("archiveSystemIdentifier", owner)
            .with("serverSystemIdentifier", server.systemIdentifier());
      }
      verified = server;
    }
  }

  private Optional<JsonNode> readStored(String key) throws IOException {
    return retry.call("read " + key, () -> {
      Optional<InputStream> in = storage.open(key);
      if (in.isEmpty()) {
        return Optional.<JsonNode>empty();
      }
      try (InputStream s = in.get()) {
        return Optional.of(JSON.readTree(s));
      }
    });
  }

  private JsonNode create(String key, ServerIdentity server) throws IOException {
    ObjectNode doc = JSON.createObjectNode()
        .put("formatVersion", FORMAT_VERSION)
        .put("systemIdentifier", server.systemIdentifier())
        .put("pgMajorVersion", server.majorVersion())
        .put("cluster", layout.cluster())
        .put("createdAt", Instant.now().toString());
    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(doc);
    try {
      retry.call("create " + key, () -> storage.create(key, new ByteArrayInputStream(bytes),
          () -> new ObjectMetadata(sha256(bytes), bytes.length, "", "")));
      LOG.log(Level.INFO, "created " + key + " for system identifier " + server.systemIdentifier()
          + " (PostgreSQL " + server.majorVersion() + ")");
      return doc;
    } catch (ObjectExistsException e) {
      // another agent (or an earlier attempt that timed out) got there first: read what it wrote
      return readStored(key).orElseThrow(() -> new IOException(key + " vanished right after"
          + " creating it failed with 'exists'; check that nothing deletes it"));
    }
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
