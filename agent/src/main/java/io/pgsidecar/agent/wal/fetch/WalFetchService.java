package io.pgsidecar.agent.wal.fetch;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.agent.storage.Retry;
import io.pgsidecar.agent.wal.archive.WalObjects;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/**
 * What {@code GET /v1/wal/{name}} does: find the stored object of a WAL file in this or another
 * cluster's archive, decode it with the codec chain recorded in its metadata (so objects written
 * under an older configuration stay readable), and after serving a segment let the
 * {@link PrefetchSpool} fetch the following ones. Not found is a result ({@code Optional.empty()});
 * a storage failure is an exception, never "not found", because PostgreSQL ends recovery on
 * "not found".
 */
public final class WalFetchService {

  private final Storage storage;
  private final CodecPipeline pipeline;
  private final RepositoryLayout layout;
  private final Retry retry;
  private final PrefetchSpool spool;

  /** A service reading through {@code spool} ({@code null}: no prefetch). */
  public static WalFetchService withSpool(Storage storage, CodecPipeline pipeline,
      RepositoryLayout layout, Retry retry, PrefetchSpool spool) {
    WalFetchService s = new WalFetchService(storage, pipeline, layout, retry, spool);
    if (spool != null) {
      spool.attach(s);
    }
    return s;
  }

  private WalFetchService(Storage storage, CodecPipeline pipeline, RepositoryLayout layout, Retry retry,
      PrefetchSpool spool) {
    this.storage = storage;
    this.pipeline = pipeline;
    this.layout = layout;
    this.retry = retry;
    this.spool = spool;
  }

  /** Parses the name asked for; INVALID_INPUT (400) with the accepted forms otherwise. */
  public static WalFileName parseName(String name) {
    try {
      return WalFileName.parse(name);
    } catch (IllegalArgumentException e) {
      throw JobException.invalidInput(e.getMessage());
    }
  }

  /** The layout of {@code cluster} ({@code null}: this agent's own cluster). */
  public RepositoryLayout layoutFor(String cluster) {
    try {
      return cluster == null || cluster.isEmpty() ? layout : layout.forCluster(cluster);
    } catch (IllegalArgumentException e) {
      throw JobException.invalidInput("cluster '" + cluster + "' is not a cluster name: " + e.getMessage());
    }
  }

  /** Opens {@code name} from the spool or storage, or empty when the archive does not have it. */
  public Optional<Source> open(RepositoryLayout from, WalFileName name) throws IOException {
    Optional<Source> spooled = spool == null ? Optional.empty() : spool.take(from, name);
    if (spooled.isPresent()) {
      return spooled;
    }
    return openStored(from, name);
  }

  /**
   * The spool file of {@code name}, verified and fsynced, for the caller to link into place
   * (see {@link PrefetchSpool#handOff}); empty when it is not spooled.
   */
  Optional<PrefetchSpool.Entry> handOff(RepositoryLayout from, WalFileName name) {
    return spool == null ? Optional.empty() : spool.handOff(from, name);
  }

  /** Opens {@code name} from storage, decoding it; the caller verifies the checksum. */
  Optional<Source> openStored(RepositoryLayout from, WalFileName name) throws IOException {
    Optional<ObjectInfo> found = retry.call("look up " + from.walKey(name.name(), pipeline.suffix()),
        () -> WalObjects.find(storage, from, name, pipeline.suffix()));
    if (found.isEmpty()) {
      requireArchive(from, name);
      return Optional.empty();
    }
    ObjectInfo info = found.get();
    String key = info.key();
    InputStream raw = retry.call("open " + key, () -> storage.open(key))
        .orElseThrow(() -> new IOException("open " + key + ": the object was listed but cannot be"
            + " read; check that nothing deletes from the archive"));
    ObjectMetadata meta = info.metadata();
    InputStream plain;
    try {
      plain = pipeline.decode(raw, meta.codec(), key);
    } catch (IOException | RuntimeException e) {
      raw.close();
      throw e;
    }
    return Optional.of(new Source(name.name(), key, meta.plainSha256(), meta.plainSize(), info.storedSize(),
        plain, () -> {}));
  }

  /**
   * "Not in the archive" ends recovery (restore_command's exit 1), so it is said only of an
   * archive that is there: one holding the cluster's {@code cluster.json}, which the first push
   * creates. An unmounted volume, a wrong path, prefix or container lists as empty as an archive
   * without the segment; without this check recovery would end early on a partial history.
   */
  private void requireArchive(RepositoryLayout from, WalFileName name) throws IOException {
    String marker = from.clusterJson();
    if (retry.call("look up " + marker, () -> storage.stat(marker)).isEmpty()) {
      throw new StorageException("storage unavailable: " + storage.describe() + " holds no "
          + marker + ", so it is not the archive of cluster " + from.cluster() + " (asked for "
          + name.name() + "): check that the repository's volume is mounted and that storage.path,"
          + " storage.prefix and the cluster name are right");
    }
  }

  /** {@code name} was served in full: fetch the next segments in the background. */
  public void served(RepositoryLayout from, WalFileName name) {
    if (spool != null && name.isSegment()) {
      spool.prefetchAfter(from, name);
    }
  }
}
