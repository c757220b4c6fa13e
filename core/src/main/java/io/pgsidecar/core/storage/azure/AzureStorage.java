package io.pgsidecar.core.storage.azure;

import com.azure.core.http.rest.PagedResponse;
import com.azure.core.util.Context;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.BlobErrorCode;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.BlobListDetails;
import com.azure.storage.blob.models.BlobProperties;
import com.azure.storage.blob.models.ListBlobsOptions;
import com.azure.storage.common.policy.RequestRetryOptions;
import com.azure.storage.common.policy.RetryPolicyType;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.AzureAuth;
import io.pgsidecar.core.storage.ExistingObject;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.RetryPolicy;
import io.pgsidecar.core.storage.RetryPolicy.Operation;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Collections;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The Azure Blob Storage driver: one container, objects as block blobs named by their keys.
 * Creates are staged blocks committed with {@code If-None-Match: *} (see {@link BlockUpload}),
 * reads are parallel ranged GETs (see {@link RangedDownload}), listings page lazily. Blocking SDK
 * calls for parallel blocks run on virtual threads owned by this instance.
 */
public final class AzureStorage implements Storage {

  /** Block size and parallelism used when a test hands in a ready client. */
  public static final int DEFAULT_BLOCK_SIZE = 8 << 20;
  public static final int DEFAULT_CONCURRENCY = 4;
  /**
   * Reads fetch ranges of at most this size (uploads keep storage.azure.block-size). The read
   * budget of the whole storage is {@code storage.azure.concurrency + 1} of them (one being read,
   * the others in flight, as one stream had before): 20 MiB by default, a quarter of the agent's
   * 80 MiB heap, where four prefetches with 8 MiB ranges each held up to 160 MiB.
   */
  static final int MAX_READ_RANGE = 4 << 20;
  private static final int LIST_PAGE = 1000;
  private static final Duration DEFAULT_TRY_TIMEOUT = Duration.ofSeconds(60);

  private final BlobContainerClient container;
  private final int blockSize;
  private final int concurrency;
  private final AzureErrors errors;
  private final RetryPolicy retry;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  /** First-block chunks: 1 MiB each, up to 24 kept (a compressed WAL segment is 3-6 MiB). */
  private final ChunkPool firstBlockChunks = new ChunkPool(1 << 20, 24);
  /** The one budget of every read of this storage (all streams together, see RangedDownload). */
  private final ReadBuffers readBuffers;

  /** A driver over a ready client (tests, or callers that build their own). */
  public AzureStorage(BlobContainerClient container) {
    this(container, DEFAULT_BLOCK_SIZE, DEFAULT_CONCURRENCY, null, RetryPolicy.defaults());
  }

  public AzureStorage(BlobContainerClient container, int blockSize, int concurrency) {
    this(container, blockSize, concurrency, null, RetryPolicy.defaults());
  }

  /** A driver over a ready client whose requests {@code retry} retries (build it with single tries). */
  public AzureStorage(BlobContainerClient container, int blockSize, int concurrency,
      RetryPolicy retry) {
    this(container, blockSize, concurrency, null, retry);
  }

  private AzureStorage(BlobContainerClient container, int blockSize, int concurrency,
      AzureAuth auth, RetryPolicy retry) {
    if (blockSize < 1 || concurrency < 1) {
      throw new IllegalArgumentException("storage.azure.blockSize and storage.azure.concurrency "
          + "must be positive, got " + blockSize + " and " + concurrency);
    }
    this.container = container;
    this.blockSize = blockSize;
    this.concurrency = concurrency;
    this.retry = retry;
    this.readBuffers = new ReadBuffers(Math.min(blockSize, MAX_READ_RANGE), concurrency + 1,
        ReadBuffers.DEFAULT_LEAN);
    this.errors = new AzureErrors(container.getAccountName(), container.getBlobContainerName(), auth);
  }

  /** The driver for {@code cfg} and its container, with the default deadlines. */
  public static AzureStorage open(PgsidecarConfig.Azure cfg) throws StorageException {
    return open(cfg, cfg.container());
  }

  /** The driver for {@code cfg} with another container (e.g. a restore from elsewhere). */
  public static AzureStorage open(PgsidecarConfig.Azure cfg, String containerOverride)
      throws StorageException {
    return open(cfg, containerOverride, DEFAULT_TRY_TIMEOUT, RetryPolicy.defaults());
  }

  /** The driver for {@code storage.*}: tries bounded by {@code storage.timeout}, retried by {@code storage.retry.*}. */
  public static AzureStorage open(PgsidecarConfig.StorageConfig storage) throws StorageException {
    return open(storage, RetryPolicy.GiveUps.NONE);
  }

  /** As {@link #open(PgsidecarConfig.StorageConfig)}, give-ups also reported to {@code giveUps}. */
  public static AzureStorage open(PgsidecarConfig.StorageConfig storage, RetryPolicy.GiveUps giveUps)
      throws StorageException {
    return open(storage.azure(), storage.azure().container(), storage.timeout(),
        new RetryPolicy(storage.retry(), giveUps));
  }

  /**
   * The SDK makes exactly one try per request, bounded by {@code tryTimeout}: {@link RetryPolicy}
   * is the one retry layer (the SDK's own retries ran inside ours: up to 36 tries of one call).
   */
  private static AzureStorage open(PgsidecarConfig.Azure cfg, String containerOverride,
      Duration tryTimeout, RetryPolicy policy) throws StorageException {
    var retry = new RequestRetryOptions(RetryPolicyType.FIXED, 1, tryTimeout,
        Duration.ofMillis(1), Duration.ofMillis(1), null);
    String container = containerOverride == null ? cfg.container() : containerOverride;
    if (cfg.blockSize() > Integer.MAX_VALUE - 64) {
      throw new StorageException("storage.azure.blockSize " + cfg.blockSize()
          + " is too large: use at most 2000 MiB (Azure allows 4000 MiB, one buffer per block)");
    }
    return new AzureStorage(AzureClients.build(cfg, container, retry), (int) cfg.blockSize(),
        cfg.concurrency(), cfg.auth(), policy);
  }

  @Override
  public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException {
    validate(key);
    var blob = container.getBlobClient(key).getBlockBlobClient();
    var recorded = new AtomicReference<ObjectMetadata>();
    try {
      return new BlockUpload(blob, key, blockSize, concurrency, executor, errors, firstBlockChunks,
          retry).run(content, () -> {
            ObjectMetadata m = metadata.get();
            recorded.set(m);
            return m;
          });
    } catch (ObjectExistsException e) {
      // Most often our own commit whose reply was lost: its retry met the committed blob.
      return ExistingObject.ownOrConflict(this, key, recorded.get(), e);
    }
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    validate(key);
    try {
      BlobProperties p = retry.call(Operation.READ, "stat of " + key, () -> container
          .getBlobClient(key).getPropertiesWithResponse(null, null, Context.NONE).getValue(),
          AzureErrors::retryable);
      return Optional.of(new ObjectInfo(key, p.getBlobSize(), p.getLastModified().toInstant(),
          MetadataNames.fromAzure(p.getMetadata())));
    } catch (RuntimeException e) {
      if (isBlobMissing(e)) {
        return Optional.empty();
      }
      throw errors.translate("stat", key, e);
    }
  }

  @Override
  public Optional<InputStream> open(String key) throws IOException {
    validate(key);
    return RangedDownload.open(container.getBlobClient(key), key, concurrency, executor, errors,
        retry, readBuffers);
  }

  /** The read budget (tests look at what it held). */
  ReadBuffers readBuffers() {
    return readBuffers;
  }

  @Override
  public Stream<ObjectInfo> list(String prefix) throws IOException {
    var options = new ListBlobsOptions().setMaxResultsPerPage(LIST_PAGE)
        .setDetails(new BlobListDetails().setRetrieveMetadata(true));
    if (!prefix.isEmpty()) {
      options.setPrefix(prefix);
    }
    Iterator<PagedResponse<BlobItem>> pages;
    Iterator<BlobItem> first;
    try {
      // The first page is fetched now so that a missing container is a checked error here.
      FirstPage firstPage = retry.call(Operation.LIST, "list of " + prefix, () -> {
        var all = container.listBlobs(options, null).iterableByPage().iterator();
        return new FirstPage(all, all.hasNext() ? all.next().getValue().iterator()
            : Collections.<BlobItem>emptyIterator());
      }, AzureErrors::retryable);
      pages = firstPage.pages();
      first = firstPage.items();
    } catch (RuntimeException e) {
      throw errors.translate("list", prefix, e);
    }
    var items = new PagedItems(pages, first, prefix);
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(items,
        Spliterator.ORDERED | Spliterator.NONNULL), false).map(AzureStorage::info);
  }

  /**
   * Deletes the blob. A 404 after a try that got no verdict (its reply lost, a reset, a 5xx) is
   * that try's own work: the blob is gone because of this call, so it counts as deleted, as a
   * create's retry that meets its own content counts as created. Otherwise "deleted" would
   * depend on whether a reply arrived: a dump whose only object's reply was lost was answered
   * "no such dump" (HTTP 404) although this very request deleted it.
   */
  @Override
  public boolean setTier(String key, String tier) throws IOException {
    validate(key);
    com.azure.storage.blob.models.AccessTier t = com.azure.storage.blob.models.AccessTier.fromString(
        Character.toUpperCase(tier.charAt(0)) + tier.substring(1).toLowerCase(java.util.Locale.ROOT));
    try {
      retry.call(Operation.LIST, "set tier of " + key, () -> {
        container.getBlobClient(key).setAccessTier(t);
        return null;
      }, AzureErrors::retryable);
      return true;
    } catch (RuntimeException e) {
      throw errors.translate("set tier " + tier, key, e);
    }
  }

  @Override
  public boolean delete(String key) throws IOException {
    validate(key);
    var unanswered = new AtomicBoolean();
    try {
      retry.call(Operation.LIST, "delete of " + key, () -> {
        try {
          return container.getBlobClient(key).deleteWithResponse(null, null, null, Context.NONE);
        } catch (RuntimeException e) {
          if (AzureErrors.retryable(e)) {
            unanswered.set(true); // the service may have deleted it before the reply was lost
          }
          throw e;
        }
      }, AzureErrors::retryable);
      return true;
    } catch (RuntimeException e) {
      if (isBlobMissing(e)) {
        return unanswered.get();
      }
      throw errors.translate("delete", key, e);
    }
  }

  @Override
  public void probe() throws IOException {
    try {
      // Listing needs only the permissions the agent needs anyway (a container SAS cannot read
      // the container's properties).
      var pages = container.listBlobs(new ListBlobsOptions().setMaxResultsPerPage(1), null)
          .iterableByPage().iterator();
      if (pages.hasNext()) {
        pages.next();
      }
    } catch (RuntimeException e) {
      if (AzureErrors.is(e, 404, null)) {
        throw errors.containerMissing();
      }
      throw errors.translate("probe", null, e);
    }
  }

  @Override
  public String describe() {
    return "azure://" + container.getAccountName() + "/" + container.getBlobContainerName();
  }

  @Override
  public void close() {
    executor.shutdown();
  }

  private static boolean isBlobMissing(RuntimeException e) {
    // A HEAD carries no error body: Azurite may give no error code, so a 404 that is not the
    // container's is the blob's.
    return AzureErrors.is(e, 404, null) && !AzureErrors.is(e, 404, BlobErrorCode.CONTAINER_NOT_FOUND);
  }

  private static ObjectInfo info(BlobItem item) {
    var p = item.getProperties();
    return new ObjectInfo(item.getName(), p.getContentLength(), p.getLastModified().toInstant(),
        MetadataNames.fromAzure(item.getMetadata()));
  }

  private static void validate(String key) {
    if (key == null || key.isEmpty() || key.startsWith("/") || key.length() > 1024) {
      throw new IllegalArgumentException("storage key " + key
          + " must be a non-empty relative name of at most 1024 characters");
    }
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new IllegalArgumentException("storage key " + key
            + " has an empty, '.' or '..' segment; those are refused");
      }
    }
  }

  private record FirstPage(Iterator<PagedResponse<BlobItem>> pages, Iterator<BlobItem> items) {}

  /** Blob items page after page, fetching the next page only when the previous is consumed. */
  private final class PagedItems implements Iterator<BlobItem> {
    private final Iterator<PagedResponse<BlobItem>> pages;
    private final String prefix;
    private Iterator<BlobItem> page;

    PagedItems(Iterator<PagedResponse<BlobItem>> pages, Iterator<BlobItem> first, String prefix) {
      this.pages = pages;
      this.page = first;
      this.prefix = prefix;
    }

    @Override
    public boolean hasNext() {
      try {
        while (!page.hasNext() && pages.hasNext()) {
          page = pages.next().getValue().iterator();
        }
        return page.hasNext();
      } catch (RuntimeException e) {
        throw new UncheckedIOException(errors.translate("list", prefix, e));
      }
    }

    @Override
    public BlobItem next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return page.next();
    }
  }
}
