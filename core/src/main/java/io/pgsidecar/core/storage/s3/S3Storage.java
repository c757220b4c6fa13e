package io.pgsidecar.core.storage.s3;

import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.S3Auth;
import io.pgsidecar.core.storage.ExistingObject;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.retry.RetryPolicy.Operation;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import io.pgsidecar.core.storage.s3.S3Upload.S3Options;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The S3 driver: one bucket, objects named by their keys, for AWS and S3-compatible stores.
 * Creates never overwrite ({@code If-None-Match: *} on PutObject and on
 * CompleteMultipartUpload, see {@link S3Upload}); reads are ranged GETs fetched ahead (see
 * {@link S3Download}); listings page lazily, reading each listed object's metadata (S3 does not
 * list it) with a few HEADs in parallel.
 *
 * <p>Some S3-compatible stores accept {@code If-None-Match: *} and overwrite anyway (s3proxy 2.6,
 * older MinIO and Ceph releases). On such a store "never overwrite" would silently not hold, so
 * before its first create the driver checks the store: it puts a marker twice under a private
 * key with the condition, and refuses to write when the second put is not answered 412 (see
 * {@link #checkConditionalWrites()}). {@link #probe()} runs the same check.
 *
 * <p>Keys with a segment starting with {@code .pgsidecar-} are the driver's own (staging objects,
 * the check's marker): listings hide them and creates refuse them.
 */
public final class S3Storage implements Storage {

  /** Segment prefix of the driver's private objects. */
  static final String PRIVATE_PREFIX = ".pgsidecar-";
  public static final int DEFAULT_PART_SIZE = 8 << 20;
  public static final int DEFAULT_CONCURRENCY = 4;
  private static final Duration DEFAULT_TRY_TIMEOUT = Duration.ofSeconds(60);
  private static final int LIST_PAGE = 1000;
  /** HEAD requests in flight per listing page, for the metadata of listed objects. */
  private static final int HEADS_IN_FLIGHT = 16;

  private final S3Client s3;
  private final String bucket;
  private final String endpoint;
  private final String checkPrefix;
  private final int partSize;
  private final int concurrency;
  private final S3Errors errors;
  private final RetryPolicy retry;
  private final S3Options options;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  /**
   * Part buffers of all uploads at once, handed out in turn (see S3Upload): {@link #budget}.
   */
  private final java.util.concurrent.Semaphore partBuffers;
  /** Ranges of {@code partSize} all reads hold at once, {@code concurrency + 1} (see S3Download). */
  private final java.util.concurrent.Semaphore readBudget;
  private final Object checkLock = new Object();
  private volatile boolean conditionalWritesChecked;

  /**
   * A driver over a ready client (tests, or callers that build their own; build it with single
   * tries: {@code retry} is the one retry layer).
   *
   * @param endpoint shown in messages; null for AWS
   * @param checkPrefix where the conditional-write check puts its marker ("" or "prod/")
   */
  public S3Storage(S3Client s3, String bucket, String endpoint, String checkPrefix, int partSize,
      int concurrency, RetryPolicy retry) {
    this(s3, bucket, endpoint, checkPrefix, partSize, concurrency, retry, null, S3Options.NONE);
  }

  private S3Storage(S3Client s3, String bucket, String endpoint, String checkPrefix, int partSize,
      int concurrency, RetryPolicy retry, S3Auth auth, S3Options options) {
    if (partSize < (5 << 20) || concurrency < 1) {
      throw new IllegalArgumentException("storage.s3.part-size must be at least 5 MiB and"
          + " storage.s3.concurrency positive, got " + partSize + " and " + concurrency);
    }
    this.s3 = s3;
    this.bucket = bucket;
    this.endpoint = endpoint;
    this.checkPrefix = checkPrefix.isEmpty() || checkPrefix.endsWith("/") ? checkPrefix
        : checkPrefix + "/";
    this.partSize = partSize;
    this.concurrency = concurrency;
    int buffers = budget(partSize, concurrency, Runtime.getRuntime().maxMemory());
    this.partBuffers = new java.util.concurrent.Semaphore(buffers, true);
    this.readBudget = new java.util.concurrent.Semaphore(buffers);
    this.retry = retry;
    this.options = options;
    this.errors = new S3Errors(bucket, endpoint, auth);
  }

  /** The driver for {@code storage.*}: tries bounded by {@code storage.timeout}, retried by {@code storage.retry.*}. */
  public static S3Storage open(PgsidecarConfig.StorageConfig storage, RetryPolicy.GiveUps giveUps)
      throws StorageException {
    return open(storage.s3(), storage.prefix(), storage.timeout(),
        new RetryPolicy(storage.retry(), giveUps));
  }

  /** The driver for {@code cfg}; the check's marker goes under {@code prefix} (storage.prefix). */
  public static S3Storage open(PgsidecarConfig.S3 cfg, String prefix, Duration tryTimeout,
      RetryPolicy retry) throws StorageException {
    if (cfg.bucket().isEmpty()) {
      throw new StorageException("storage.type is s3 but storage.s3.bucket is not set: set it to"
          + " the repository's bucket");
    }
    if (cfg.partSize() > Integer.MAX_VALUE - 64) {
      throw new StorageException("storage.s3.part-size " + cfg.partSize() + " is too large: use"
          + " at most 2000 MiB (one buffer per part)");
    }
    var options = new S3Options(cfg.serverSideEncryption(), cfg.kmsKeyId().orElse(null),
        cfg.storageClass().orElse(null));
    return new S3Storage(S3Clients.build(cfg, tryTimeout == null ? DEFAULT_TRY_TIMEOUT : tryTimeout),
        cfg.bucket(), cfg.endpoint().orElse(null), prefix, (int) cfg.partSize(), cfg.concurrency(),
        retry, cfg.auth(), options);
  }

  @Override
  public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException {
    validate(key);
    checkConditionalWrites();
    var recorded = new AtomicReference<ObjectMetadata>();
    // Creates of one key through this driver take turns. Across processes the store's
    // If-None-Match: * decides alone; in one process the turns save the loser's upload, and
    // they keep the contract on S3Mock 4.11, whose conditional PutObject is not atomic: two
    // concurrent puts of a new key both succeeded there (the last one's content stays).
    var lock = keyLocks.computeIfAbsent(key, k -> new java.util.concurrent.locks.ReentrantLock());
    lock.lock();
    try {
      return new S3Upload(s3, bucket, key, partSize, concurrency, executor, errors, retry, options,
          partBuffers)
          .run(content, () -> {
            ObjectMetadata m = metadata.get();
            recorded.set(m);
            return m;
          });
    } catch (ObjectExistsException e) {
      // Most often our own write whose reply was lost: its retry met the stored object.
      return ExistingObject.ownOrConflict(this, key, recorded.get(), e);
    } finally {
      lock.unlock();
      if (!lock.hasQueuedThreads()) {
        keyLocks.remove(key, lock);
      }
    }
  }

  private final java.util.concurrent.ConcurrentHashMap<String,
      java.util.concurrent.locks.ReentrantLock> keyLocks = new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    validate(key);
    try {
      HeadObjectResponse h = head(key);
      return Optional.of(info(key, h));
    } catch (RuntimeException e) {
      if (S3Errors.is(e, 404, null)) {
        // A HEAD has no error body: the bucket's 404 and the key's look alike.
        checkBucket("stat", key);
        return Optional.empty();
      }
      throw errors.translate("stat", key, e);
    }
  }

  private HeadObjectResponse head(String key) throws IOException {
    return retry.call(Operation.READ, "stat of " + key,
        () -> s3.headObject(b -> b.bucket(bucket).key(key)), S3Errors::retryable);
  }

  private void checkBucket(String operation, String key) throws IOException {
    try {
      retry.call(Operation.READ, "existence check of bucket " + bucket,
          () -> s3.headBucket(b -> b.bucket(bucket)), S3Errors::retryable);
    } catch (RuntimeException e) {
      if (S3Errors.is(e, 404, null)) {
        throw new StorageException(errors.bucketMissing().getMessage() + " (" + operation
            + " of " + key + " in " + errors.where() + ")", e);
      }
      throw errors.translate(operation, key, e);
    }
  }

  @Override
  public Optional<InputStream> open(String key) throws IOException {
    validate(key);
    return S3Download.open(s3, bucket, key, partSize, concurrency, executor, errors, retry,
        readBudget);
  }

  @Override
  public Stream<ObjectInfo> list(String prefix) throws IOException {
    ListObjectsV2Response first;
    try {
      first = page(prefix, null);
    } catch (RuntimeException e) {
      throw errors.translate("list", prefix, e);
    }
    var items = new PagedItems(prefix, first);
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(items,
        Spliterator.ORDERED | Spliterator.NONNULL), false);
  }

  private ListObjectsV2Response page(String prefix, String token) throws IOException {
    return retry.call(Operation.LIST, "list of " + prefix, () -> s3.listObjectsV2(b -> {
      b.bucket(bucket).maxKeys(LIST_PAGE);
      if (!prefix.isEmpty()) {
        b.prefix(prefix);
      }
      if (token != null) {
        b.continuationToken(token);
      }
    }), S3Errors::retryable);
  }

  /**
   * The listed objects of one page with their metadata (a HEAD each, {@link #HEADS_IN_FLIGHT} at
   * once); an object deleted between the listing and its HEAD is left out, private ones too.
   */
  private List<ObjectInfo> withMetadata(List<S3Object> objects) throws IOException {
    var gate = new Semaphore(HEADS_IN_FLIGHT);
    List<CompletableFuture<Optional<ObjectInfo>>> heads = new ArrayList<>();
    for (S3Object o : objects) {
      if (isPrivate(o.key())) {
        continue;
      }
      heads.add(CompletableFuture.supplyAsync(() -> {
        try {
          gate.acquire();
          try {
            return Optional.of(info(o.key(), head(o.key())));
          } finally {
            gate.release();
          }
        } catch (RuntimeException e) {
          if (S3Errors.is(e, 404, null)) {
            return Optional.empty();
          }
          throw new UncheckedIOException(errors.translate("list (metadata)", o.key(), e));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new UncheckedIOException(new java.io.InterruptedIOException("list interrupted"));
        }
      }, executor));
    }
    List<ObjectInfo> out = new ArrayList<>(heads.size());
    for (var h : heads) {
      try {
        h.get().ifPresent(out::add);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("list interrupted");
      } catch (ExecutionException e) {
        if (e.getCause() instanceof UncheckedIOException u) {
          throw u.getCause();
        }
        throw errors.translate("list", null, e.getCause());
      }
    }
    return out;
  }

  /**
   * Deletes the object. S3 answers a delete of a missing key like any other (204), so a HEAD
   * first tells "not there" ({@code false}). The delete itself is idempotent: a retry after a
   * lost reply answers 204 again, and the call reports the deletion it made.
   */
  @Override
  public boolean delete(String key) throws IOException {
    validate(key);
    if (stat(key).isEmpty()) {
      return false;
    }
    try {
      retry.call(Operation.LIST, "delete of " + key,
          () -> s3.deleteObject(b -> b.bucket(bucket).key(key)), S3Errors::retryable);
      return true;
    } catch (RuntimeException e) {
      throw errors.translate("delete", key, e);
    }
  }

  /**
   * The driver's own objects under {@code prefix} that listings hide: staging objects of
   * uploads that did not finish, and markers of the start's conditional-write check.
   */
  @Override
  public Stream<ObjectInfo> listDebris(String prefix) throws IOException {
    List<ObjectInfo> out = new ArrayList<>();
    String token = null;
    try {
      do {
        String t = token;
        var page = retry.call(Operation.LIST, "list of " + prefix, () -> s3.listObjectsV2(b -> {
          b.bucket(bucket).maxKeys(LIST_PAGE);
          if (!prefix.isEmpty()) {
            b.prefix(prefix);
          }
          if (t != null) {
            b.continuationToken(t);
          }
        }), S3Errors::retryable);
        for (S3Object o : page.contents()) {
          if (isPrivate(o.key())) {
            out.add(new ObjectInfo(o.key(), o.size() == null ? 0 : o.size(),
                o.lastModified() == null ? Instant.EPOCH : o.lastModified(),
                new ObjectMetadata("", -1, "", "")));
          }
        }
        token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
      } while (token != null);
    } catch (RuntimeException e) {
      throw errors.translate("list debris", prefix, e);
    }
    return out.stream();
  }

  /** Deletes one of the driver's own objects {@link #listDebris} found. */
  @Override
  public boolean deleteDebris(String key) throws IOException {
    if (!isPrivate(key)) {
      throw new IllegalArgumentException(key + " is not a staging object of " + describe());
    }
    try {
      retry.call(Operation.LIST, "delete of " + key,
          () -> s3.deleteObject(b -> b.bucket(bucket).key(key)), S3Errors::retryable);
      return true;
    } catch (RuntimeException e) {
      throw errors.translate("delete", key, e);
    }
  }

  /** Proves the bucket is there and readable, then that the store keeps conditional writes. */
  @Override
  public void probe() throws IOException {
    try {
      retry.call(Operation.LIST, "probe of " + bucket,
          () -> s3.listObjectsV2(b -> b.bucket(bucket).maxKeys(1)), S3Errors::retryable);
    } catch (RuntimeException e) {
      if (S3Errors.bucketMissing(e)) {
        throw errors.bucketMissing();
      }
      throw errors.translate("probe", null, e);
    }
    checkConditionalWrites();
  }

  /**
   * Puts a marker twice with {@code If-None-Match: *} under a private key and expects the second
   * put to be refused (412). Once per driver; a store that passes is not asked again.
   *
   * @throws StorageException when the store overwrote the marker: it has no conditional writes
   */
  void checkConditionalWrites() throws IOException {
    if (conditionalWritesChecked) {
      return;
    }
    synchronized (checkLock) {
      if (conditionalWritesChecked) {
        return;
      }
      String marker = checkPrefix + PRIVATE_PREFIX + "conditional-write-check-" + UUID.randomUUID();
      try {
        try {
          put(marker, "first");
        } catch (RuntimeException e) {
          // The marker's name is new: a refusal of its first put is that put's own earlier try,
          // whose reply was lost.
          if (!S3Errors.refusedAsExisting(e)) {
            throw e;
          }
        }
        boolean refused;
        try {
          put(marker, "second");
          refused = false;
        } catch (RuntimeException e) {
          if (!S3Errors.refusedAsExisting(e)) {
            throw e;
          }
          refused = true;
        }
        if (!refused) {
          throw new StorageException("the S3 store at " + (endpoint == null ? "AWS" : endpoint)
              + " (bucket " + bucket + ") accepted If-None-Match: * and overwrote an existing"
              + " object (" + marker + "): it has no conditional writes, so pgsidecar could"
              + " overwrite archived WAL and backups there. Refusing to write. Use a store that"
              + " answers 412 Precondition Failed to a put of an existing key with If-None-Match:"
              + " * (AWS S3, MinIO since RELEASE.2024-11, Ceph RGW since Squid, S3Mock)");
        }
        conditionalWritesChecked = true;
      } catch (RuntimeException e) {
        throw errors.translate("conditional-write check (put)", marker, e);
      } finally {
        try {
          retry.call(Operation.LIST, "delete of " + marker,
              () -> s3.deleteObject(b -> b.bucket(bucket).key(marker)), S3Errors::retryable);
        } catch (IOException | RuntimeException ignored) {
          // a marker left behind is hidden from listings and harmless
        }
      }
    }
  }

  private void put(String key, String text) throws IOException {
    byte[] body = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    retry.call(Operation.COMMIT, "put of " + key, () -> s3.putObject(b -> {
      b.bucket(bucket).key(key).ifNoneMatch("*");
      if (options.sse() != PgsidecarConfig.S3Encryption.NONE || options.storageClass() != null) {
        var full = software.amazon.awssdk.services.s3.model.PutObjectRequest.builder();
        options.apply(full);
        var built = full.build();
        b.serverSideEncryption(built.serverSideEncryption()).ssekmsKeyId(built.ssekmsKeyId())
            .storageClass(built.storageClass());
      }
    }, RequestBody.fromBytes(body)), e -> S3Errors.retryable(e) && !S3Errors.refusedAsExisting(e));
  }

  @Override
  public String describe() {
    return "s3://" + bucket + (endpoint == null ? "" : " at " + endpoint);
  }

  /**
   * How many buffers of {@code partSize} all uploads (and, apart, all reads) hold at once:
   * {@code concurrency + 1}, but no more than fit in 30 % of the heap, and at least 2 (one being
   * filled, one being sent). bin/pgsidecar's 80 MiB heap thus gets 3 of the default 8 MiB
   * (24 MiB), not 5: with 5 (40 MiB) beside the agent's own 20-25 MiB, five incompressible
   * segments pushed at once still ran the serial collector out of room for one more 8 MiB
   * array (S3UploadMemoryTest, live heap 62-64 MiB of 77). A bigger -Xmx gives more.
   */
  static int budget(int partSize, int concurrency, long maxHeap) {
    long fit = maxHeap == Long.MAX_VALUE ? Integer.MAX_VALUE : maxHeap * 3 / 10 / partSize;
    return (int) Math.max(2, Math.min(concurrency + 1L, fit));
  }

  /** Free part buffers and free read ranges now (tests: nothing holds one when all is done). */
  int[] freeBuffers() {
    return new int[] {partBuffers.availablePermits(), readBudget.availablePermits()};
  }

  @Override
  public void close() {
    executor.shutdown();
    s3.close();
  }

  static boolean isPrivate(String key) {
    return key.startsWith(PRIVATE_PREFIX) || key.contains("/" + PRIVATE_PREFIX);
  }

  private static ObjectInfo info(String key, HeadObjectResponse h) {
    Instant modified = h.lastModified() == null ? Instant.EPOCH : h.lastModified();
    return new ObjectInfo(key, h.contentLength() == null ? 0 : h.contentLength(), modified,
        ObjectMetadata.fromMap(h.metadata()));
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
      if (segment.startsWith(PRIVATE_PREFIX)) {
        throw new IllegalArgumentException("storage key " + key + " has a segment starting with "
            + PRIVATE_PREFIX + "; those names are the S3 driver's own");
      }
    }
  }

  /** Objects page after page, fetching the next page only when the previous is consumed. */
  private final class PagedItems implements Iterator<ObjectInfo> {
    private final String prefix;
    private ListObjectsV2Response last;
    private Iterator<ObjectInfo> page = Collections.emptyIterator();
    private boolean firstDone;

    PagedItems(String prefix, ListObjectsV2Response first) {
      this.prefix = prefix;
      this.last = first;
    }

    @Override
    public boolean hasNext() {
      try {
        while (!page.hasNext()) {
          if (!firstDone) {
            firstDone = true;
          } else if (Boolean.TRUE.equals(last.isTruncated()) && last.nextContinuationToken() != null) {
            last = page(prefix, last.nextContinuationToken());
          } else {
            return false;
          }
          page = withMetadata(last.contents()).iterator();
        }
        return true;
      } catch (RuntimeException e) {
        if (e instanceof UncheckedIOException) {
          throw e;
        }
        throw new UncheckedIOException(errors.translate("list", prefix, e));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public ObjectInfo next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return page.next();
    }
  }
}
