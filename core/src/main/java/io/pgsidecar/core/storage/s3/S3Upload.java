package io.pgsidecar.core.storage.s3;

import io.pgsidecar.core.config.PgsidecarConfig.S3Encryption;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.retry.RetryPolicy.Operation;
import io.pgsidecar.core.storage.StorageException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;

/**
 * One create of an S3 object, all or nothing, never overwriting:
 * <ol>
 *   <li>content shorter than one part: a single PutObject with the metadata and
 *       {@code If-None-Match: *};</li>
 *   <li>otherwise the content streams as a multipart upload (up to {@code concurrency} parts in
 *       flight, at most {@code concurrency + 1} part buffers alive: constant memory) into a
 *       driver-private staging object next to the key ({@code .pgsidecar-upload-<uuid>}, never
 *       listed). S3 fixes an object's metadata when its upload starts, but the metadata (the
 *       SHA-256 of the plain content) is known only once the content has ended: so the object
 *       itself is then a second multipart upload that starts with the metadata, copies the staged
 *       bytes server-side (UploadPartCopy, no byte crosses the network again) and completes with
 *       {@code If-None-Match: *}. The staging object is deleted afterwards.</li>
 * </ol>
 * Part buffers are counted by the driver's {@code buffers} permits, shared by every upload of
 * one {@link S3Storage}: a buffer is taken (blocking, first come first served) before it is
 * filled and given back when its part is stored, so all concurrent creates together (WAL
 * look-ahead, the foreground push, a base backup) hold at most that many buffers of
 * {@code partSize}, and none holds a buffer while it waits for another. Without the shared
 * count, each create had its own {@code concurrency + 1} buffers, and five 16 MiB segments
 * pushed at once ran the agent's 80 MiB heap out of memory (S3UploadMemoryTest).
 *
 * <p>Until the final completion the key does not exist for readers. A failure aborts the uploads
 * and deletes the staging object; a process killed mid-way leaves an incomplete upload (a
 * bucket lifecycle rule AbortIncompleteMultipartUpload removes it) and at most one staging
 * object, which listings hide.
 */
final class S3Upload {

  private static final System.Logger LOG = System.getLogger(S3Upload.class.getName());

  /** S3's limit of parts per upload. */
  static final int MAX_PARTS = 10_000;
  /** Server-side copy per UploadPartCopy request (S3 allows 5 GiB). */
  static final long COPY_PART = 1L << 30;

  private final S3Client s3;
  private final String bucket;
  private final String key;
  private final int partSize;
  private final int concurrency;
  private final ExecutorService executor;
  private final S3Errors errors;
  private final RetryPolicy retry;
  private final S3Options options;
  private final Semaphore buffers;
  /** Whether the upload's own thread holds a permit of {@link #buffers} for a buffer it fills. */
  private boolean holdsBuffer;
  /** The first part, read before the upload knows it needs more than one; taken by uploadParts. */
  private byte[] firstPart;

  S3Upload(S3Client s3, String bucket, String key, int partSize, int concurrency,
      ExecutorService executor, S3Errors errors, RetryPolicy retry, S3Options options,
      Semaphore buffers) {
    this.buffers = buffers;
    this.s3 = s3;
    this.bucket = bucket;
    this.key = key;
    this.partSize = partSize;
    this.concurrency = concurrency;
    this.executor = executor;
    this.errors = errors;
    this.retry = retry;
    this.options = options;
  }

  /** Per-object options every upload sets: server-side encryption and storage class. */
  record S3Options(S3Encryption sse, String kmsKeyId, String storageClass) {
    static final S3Options NONE = new S3Options(S3Encryption.NONE, null, null);

    void apply(PutObjectRequest.Builder b) {
      switch (sse) {
        case NONE -> { }
        case AES256 -> b.serverSideEncryption(ServerSideEncryption.AES256);
        case AWS_KMS -> {
          b.serverSideEncryption(ServerSideEncryption.AWS_KMS);
          if (kmsKeyId != null) {
            b.ssekmsKeyId(kmsKeyId);
          }
        }
      }
      if (storageClass != null) {
        b.storageClass(storageClass);
      }
    }

    void apply(CreateMultipartUploadRequest.Builder b, boolean withStorageClass) {
      switch (sse) {
        case NONE -> { }
        case AES256 -> b.serverSideEncryption(ServerSideEncryption.AES256);
        case AWS_KMS -> {
          b.serverSideEncryption(ServerSideEncryption.AWS_KMS);
          if (kmsKeyId != null) {
            b.ssekmsKeyId(kmsKeyId);
          }
        }
      }
      if (withStorageClass && storageClass != null) {
        b.storageClass(storageClass);
      }
    }
  }

  ObjectInfo run(InputStream content, Supplier<ObjectMetadata> metadata) throws IOException {
    try {
      firstPart = takeBuffer();
      int n = readFully(content, firstPart);
      if (n < partSize) {
        byte[] data = firstPart;
        firstPart = null;
        return single(data, n, metadata.get());
      }
      // no local of this frame keeps the first part: once it is stored, its permit is given
      // back and its memory must go too (a reference kept here for the whole upload doubled
      // the heap the budget allows)
      return staged(content, metadata);
    } finally {
      releaseHeldBuffer();
    }
  }

  /** A new part buffer, once a permit of {@link #buffers} is free. */
  private byte[] takeBuffer() throws StorageException {
    try {
      buffers.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException("create of " + key + " was interrupted; nothing was stored", e);
    }
    holdsBuffer = true;
    return new byte[partSize];
  }

  private void releaseHeldBuffer() {
    if (holdsBuffer) {
      holdsBuffer = false;
      buffers.release();
    }
  }

  private ObjectInfo single(byte[] data, int length, ObjectMetadata meta) throws IOException {
    try {
      retry.call(Operation.COMMIT, "create of " + key, () -> {
        var request = PutObjectRequest.builder().bucket(bucket).key(key).ifNoneMatch("*")
            .metadata(meta.toMap()).contentLength((long) length);
        options.apply(request);
        return s3.putObject(request.build(), RequestBody.fromContentProvider(
            () -> new ByteArrayInputStream(data, 0, length), length, "application/octet-stream"));
      }, S3Errors::retryable);
      return new ObjectInfo(key, length, Instant.now(), meta);
    } catch (RuntimeException e) {
      throw translateWrite("create", key, e);
    }
  }

  private ObjectInfo staged(InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException {
    int slash = key.lastIndexOf('/');
    String staging = (slash < 0 ? "" : key.substring(0, slash + 1)) + S3Storage.PRIVATE_PREFIX
        + "upload-" + UUID.randomUUID();
    String stagingId = null;
    String finalId = null;
    boolean stagingWritten = false;
    try {
      stagingId = createUpload(staging, null, false);
      Staged staged = uploadParts(staging, stagingId, content);
      long size = staged.size();
      complete(staging, stagingId, staged.parts(), false);
      stagingId = null;
      stagingWritten = true;
      ObjectMetadata meta = metadata.get();
      if (exists(key)) {
        // A retry of our own create, or a conflict: judged by the caller, and no upload is
        // started on a key that holds an object (see abortQuietly).
        throw new ObjectExistsException(key);
      }
      finalId = createUpload(key, meta, true);
      List<CompletedPart> copied = new ArrayList<>();
      String source = staging;
      for (long at = 0; at < size || (size == 0 && copied.isEmpty()); at += COPY_PART) {
        long from = at;
        long to = Math.min(size, at + COPY_PART) - 1;
        int number = copied.size() + 1;
        String uploadId = finalId;
        var part = retry.call(Operation.BLOCK, "copy of part " + number + " of " + key, () ->
            s3.uploadPartCopy(b -> b.sourceBucket(bucket).sourceKey(source)
                .destinationBucket(bucket).destinationKey(key).uploadId(uploadId)
                .partNumber(number).copySourceRange("bytes=" + from + "-" + to)),
            S3Errors::retryable);
        copied.add(CompletedPart.builder().partNumber(number)
            .eTag(part.copyPartResult().eTag()).build());
      }
      try {
        complete(key, finalId, copied, true);
      } catch (ObjectExistsException | RuntimeException e) {
        if (e instanceof ObjectExistsException || S3Errors.refusedAsExisting(e)) {
          // Another writer's object holds the key now. The upload is left incomplete rather
          // than aborted: S3Mock 4.11 deletes the stored object of a key when an upload of that
          // key is aborted (checked by hand), and nothing stored may be lost for tidiness. The
          // bucket's AbortIncompleteMultipartUpload lifecycle rule removes it.
          LOG.log(System.Logger.Level.INFO, "create of {0} in {1} met an existing object at"
              + " completion; its multipart upload {2} is left for the bucket's lifecycle rule",
              new Object[] {key, errors.where(), finalId});
          finalId = null;
        }
        throw e;
      }
      finalId = null;
      return new ObjectInfo(key, size, Instant.now(), meta);
    } catch (RuntimeException e) {
      throw translateWrite("create (multipart upload)", key, e);
    } finally {
      abortQuietly(staging, stagingId);
      abortQuietly(key, finalId);
      if (stagingWritten) {
        deleteQuietly(staging);
      }
    }
  }

  /** The staging object's size and parts. */
  private record Staged(long size, List<CompletedPart> parts) {}

  private boolean exists(String target) throws IOException {
    try {
      retry.call(Operation.READ, "existence check of " + target,
          () -> s3.headObject(b -> b.bucket(bucket).key(target)), S3Errors::retryable);
      return true;
    } catch (RuntimeException e) {
      if (S3Errors.is(e, 404, null)) {
        return false;
      }
      throw errors.translate("create (existence check)", target, e);
    }
  }

  private String createUpload(String target, ObjectMetadata meta, boolean withStorageClass)
      throws IOException {
    return retry.call(Operation.COMMIT, "start of the upload of " + target, () -> {
      var request = CreateMultipartUploadRequest.builder().bucket(bucket).key(target);
      if (meta != null) {
        request.metadata(meta.toMap());
      }
      options.apply(request, withStorageClass);
      return s3.createMultipartUpload(request.build()).uploadId();
    }, S3Errors::retryable);
  }

  private Staged uploadParts(String target, String uploadId, InputStream content)
      throws IOException {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    var done = new ConcurrentLinkedQueue<CompletedPart>();
    List<CompletableFuture<?>> inFlight = new ArrayList<>();
    int parts = 0;
    long size = 0;
    byte[] buffer = firstPart;
    firstPart = null;
    int n = buffer.length;
    try {
      while (n > 0 && failure.get() == null) {
        if (parts == MAX_PARTS) {
          throw new StorageException("create of " + key + " exceeds " + MAX_PARTS + " parts of "
              + partSize + " bytes: raise storage.s3.part-size");
        }
        parts++;
        size += n;
        holdsBuffer = false; // the part's task gives its permit back
        inFlight.add(part(target, uploadId, parts, buffer, n, failure, done));
        buffer = null; // nor its memory kept here while this thread waits for the next permit
        inFlight.removeIf(CompletableFuture::isDone);
        if (n < partSize) {
          break;
        }
        // at most `concurrency` parts of this object in flight, and the shared count of buffers
        while (inFlight.size() >= concurrency && failure.get() == null) {
          CompletableFuture.anyOf(inFlight.toArray(CompletableFuture[]::new)).join();
          inFlight.removeIf(CompletableFuture::isDone);
        }
        buffer = takeBuffer();
        n = readFully(content, buffer);
      }
    } finally {
      releaseHeldBuffer();
      awaitAll(inFlight);
    }
    if (failure.get() != null) {
      Throwable f = failure.get();
      if (f instanceof IOException io) {
        throw io;
      }
      throw errors.translate("create (upload part)", key, f);
    }
    List<CompletedPart> sorted = new ArrayList<>(done);
    sorted.sort(Comparator.comparingInt(CompletedPart::partNumber));
    return new Staged(size, sorted);
  }

  private CompletableFuture<Void> part(String target, String uploadId, int number, byte[] buffer,
      int length, AtomicReference<Throwable> failure, ConcurrentLinkedQueue<CompletedPart> done) {
    return CompletableFuture.runAsync(() -> {
      try {
        if (failure.get() == null) {
          String etag = retry.call(Operation.BLOCK, "part " + number + " of " + key, () ->
              s3.uploadPart(b -> b.bucket(bucket).key(target).uploadId(uploadId)
                  .partNumber(number).contentLength((long) length),
                  RequestBody.fromContentProvider(
                      () -> new ByteArrayInputStream(buffer, 0, length), length,
                      "application/octet-stream")).eTag(),
              S3Errors::retryable);
          done.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
        }
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      } finally {
        buffers.release();
      }
    }, executor);
  }

  /**
   * Completes an upload; {@code conditional}: with {@code If-None-Match: *}. A retry after a lost
   * reply may meet its own completed upload: AWS answers 200 again, other stores 404 NoSuchUpload
   * or 412; the caller then judges the stored object by its content.
   */
  private void complete(String target, String uploadId, List<CompletedPart> parts,
      boolean conditional) throws IOException {
    var tried = new java.util.concurrent.atomic.AtomicInteger();
    try {
      retry.call(Operation.COMMIT, "completion of " + target, () -> {
        tried.incrementAndGet();
        return s3.completeMultipartUpload(b -> {
          b.bucket(bucket).key(target).uploadId(uploadId)
              .multipartUpload(CompletedMultipartUpload.builder().parts(parts).build());
          if (conditional) {
            b.ifNoneMatch("*");
          }
        });
      }, S3Errors::retryable);
    } catch (RuntimeException e) {
      if (tried.get() > 1 && S3Errors.is(e, 404, "NoSuchUpload")) {
        if (conditional) {
          throw new ObjectExistsException(key); // our own completion, judged by the caller
        }
        return; // the staging object was completed by the try whose reply was lost
      }
      throw e;
    }
  }

  private void abortQuietly(String target, String uploadId) {
    if (uploadId == null) {
      return;
    }
    try {
      retry.call(Operation.LIST, "abort of the upload of " + target, () ->
          s3.abortMultipartUpload(b -> b.bucket(bucket).key(target).uploadId(uploadId)),
          S3Errors::retryable);
    } catch (IOException | RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "could not abort the incomplete upload {0} of {1} in"
          + " {2}: {3}; a bucket lifecycle rule AbortIncompleteMultipartUpload removes it",
          new Object[] {uploadId, target, errors.where(), e.getMessage()});
    }
  }

  private void deleteQuietly(String staging) {
    try {
      retry.call(Operation.LIST, "delete of " + staging, () ->
          s3.deleteObject(b -> b.bucket(bucket).key(staging)), S3Errors::retryable);
    } catch (IOException | RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "could not delete the staging object {0} in {1}:"
          + " {2}; listings hide it, delete it by hand", new Object[] {staging, errors.where(), e.getMessage()});
    }
  }

  private IOException translateWrite(String operation, String target, Throwable e) {
    if (S3Errors.refusedAsExisting(e)) {
      return new ObjectExistsException(key);
    }
    return errors.translate(operation, target, e);
  }

  private static void awaitAll(List<CompletableFuture<?>> futures) {
    for (var f : futures) {
      try {
        f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (ExecutionException e) {
        // recorded in `failure` by the task itself
      }
    }
  }

  private StorageException readFailed(IOException e) {
    return new StorageException("create of " + key + " failed while reading its content: "
        + e.getMessage() + "; nothing was stored", e);
  }

  private int readFully(InputStream in, byte[] buffer) throws StorageException {
    int total = 0;
    try {
      while (total < buffer.length) {
        int r = in.read(buffer, total, buffer.length - total);
        if (r < 0) {
          break;
        }
        total += r;
      }
    } catch (IOException e) {
      throw readFailed(e);
    }
    return total;
  }
}
