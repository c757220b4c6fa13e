package io.pgsidecar.core.storage;

import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * Where the repository lives: a flat namespace of immutable objects addressed by keys such as
 * {@code prod/db1/wal/0000000100000000/000000010000000000000003.zst}.
 *
 * <p>The contract every driver keeps (checked by the shared {@code StorageContractTest}):
 * <ul>
 *   <li><b>Create only if absent.</b> {@link #create} never replaces an object. When the key
 *       exists with other content it throws {@link ObjectConflictException} (an
 *       {@link ObjectExistsException}) and the stored object is untouched; when it exists with
 *       this very content (same plain SHA-256 and size in the metadata: a retry whose earlier
 *       reply was lost) it returns the stored object (see {@link ExistingObject}). Of two
 *       concurrent creates of one key with different content exactly one succeeds.</li>
 *   <li><b>All or nothing.</b> A reader never sees a half-written object: it appears, with its
 *       metadata, only once its content is durable. A failed or interrupted create leaves no
 *       object under the key (at most driver-private debris that {@link #list} does not show).</li>
 *   <li><b>Metadata after content.</b> The metadata supplier is called once the content stream
 *       has been read to its end, so a caller can record a checksum it computed while streaming.
 *       Keys and values are ASCII; keys are lower-case words joined by dashes.</li>
 *   <li><b>Not found is a result.</b> {@link #stat} and {@link #open} return an empty
 *       {@link Optional} for a missing object and {@link #delete} returns {@code false}; they
 *       never ask the caller to parse an exception message. A store that is not there (a
 *       missing, unreadable or unmounted repository) is never "not found": it is a
 *       {@link StorageException}.</li>
 *   <li><b>Listing is lazy.</b> {@link #list} pages through the store as the stream is consumed,
 *       in ascending key order; a prefix with nothing under it lists as an empty stream.</li>
 *   <li><b>Failures name the object.</b> Any other failure is a {@link StorageException} whose
 *       message names the operation, the key and what to check (credentials, container, path).</li>
 * </ul>
 */
public interface Storage extends AutoCloseable {

  /**
   * Stores {@code content} under {@code key} if no object has that key.
   *
   * @param content read to its end (and not closed); may be arbitrarily large, never buffered whole
   * @param metadata called after {@code content} is exhausted; its map is stored with the object
   * @return what was stored, or the stored object when {@code key} holds this very content
   * @throws ObjectConflictException when {@code key} holds other content (nothing changed)
   */
  ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException;

  /** Size and metadata of {@code key}, or empty when it does not exist. */
  Optional<ObjectInfo> stat(String key) throws IOException;

  /** The stored bytes of {@code key} as a stream the caller closes, or empty when missing. */
  Optional<InputStream> open(String key) throws IOException;

  /** Keys under {@code prefix}, ascending, paged lazily. Close the stream when done. */
  Stream<ObjectInfo> list(String prefix) throws IOException;

  /** Deletes {@code key}; {@code false} when it did not exist. */
  boolean delete(String key) throws IOException;

  /**
   * Driver-private debris under {@code prefix} that {@link #list} hides: what an interrupted
   * create left behind (the filesystem driver's temp files, the S3 driver's staging objects),
   * with the time it was last written. Retention removes what is older than
   * {@code retention.orphan-age}. A driver that leaves none returns an empty stream (Azure: the
   * uncommitted blocks of an interrupted upload are no blob, and expire by themselves).
   */
  default Stream<ObjectInfo> listDebris(String prefix) throws IOException {
    return Stream.empty();
  }

  /**
   * Deletes one item {@link #listDebris} returned; {@code false} when it was gone. Refuses
   * ({@link IllegalArgumentException}) a key that is not the driver's debris.
   */
  default boolean deleteDebris(String key) throws IOException {
    throw new IllegalArgumentException(key + " is not debris of " + describe());
  }

  /**
   * Moves {@code key} to a storage tier ({@code hot}, {@code cool}, {@code cold}, {@code archive}:
   * Azure's access tiers); its content and metadata stay as they are. {@code false} when this
   * driver has no tiers (the filesystem), or would have to rewrite the object to change it (S3's
   * storage classes change only by a copy), so it leaves it where it is.
   */
  default boolean setTier(String key, String tier) throws IOException {
    return false;
  }

  /**
   * A cheap call that proves the store is reachable and usable (container exists, credentials
   * work). Throws {@link StorageException} naming what is wrong.
   */
  void probe() throws IOException;

  /** Short human description for logs, without secrets, e.g. {@code azure://account/container}. */
  String describe();

  @Override
  default void close() throws IOException {}
}
