package io.pgsidecar.core.storage.azure;

import com.azure.core.util.BinaryData;
import com.azure.core.util.Context;
import com.azure.storage.blob.models.BlobErrorCode;
import com.azure.storage.blob.models.BlobRequestConditions;
import com.azure.storage.blob.models.BlockBlobItem;
import com.azure.storage.blob.options.BlockBlobCommitBlockListOptions;
import com.azure.storage.blob.options.BlockBlobSimpleUploadOptions;
import com.azure.storage.blob.options.BlockBlobStageBlockOptions;
import com.azure.storage.blob.specialized.BlockBlobClient;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.core.storage.retry.RetryPolicy.Operation;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * One create of a block blob, all or nothing:
 * <ol>
 *   <li>read the content in blocks of {@code blockSize};</li>
 *   <li>content shorter than one block: a single Put Blob with the metadata and
 *       {@code If-None-Match: *};</li>
 *   <li>otherwise stage each block (up to {@code concurrency} in parallel, at most
 *       {@code concurrency + 1} block buffers alive), then, once the stream has ended and the
 *       metadata supplier has been asked, commit the block list with {@code If-None-Match: *}.</li>
 * </ol>
 * Until the commit the blob does not exist for readers; a failure before it leaves only
 * uncommitted blocks, which Azure discards (after a week at most). Block ids carry a random
 * attempt id so two racing creates of one key never mix their blocks; the commit condition
 * lets exactly one of them win.
 */
final class BlockUpload {

  /** Azure's limit of committed blocks per blob. */
  static final int MAX_BLOCKS = 50_000;

  private final BlockBlobClient blob;
  private final String key;
  private final int blockSize;
  private final int concurrency;
  private final ExecutorService executor;
  private final AzureErrors errors;
  private final ChunkPool pool;
  private final RetryPolicy retry;

  BlockUpload(BlockBlobClient blob, String key, int blockSize, int concurrency,
      ExecutorService executor, AzureErrors errors, ChunkPool pool, RetryPolicy retry) {
    this.pool = pool;
    this.retry = retry;
    this.blob = blob;
    this.key = key;
    this.blockSize = blockSize;
    this.concurrency = concurrency;
    this.executor = executor;
    this.errors = errors;
  }

  ObjectInfo run(InputStream content, Supplier<ObjectMetadata> metadata) throws IOException {
    // Most objects (compressed WAL segments, manifests) are far smaller than a block: read the
    // first block in pooled chunks, as many as the data needs, instead of allocating blockSize
    // bytes for every create. (readNBytes collected 16 KiB pieces and copied them into one
    // array: twice the object in garbage per create.)
    List<byte[]> chunks = new ArrayList<>();
    List<ByteBuffer> data = new ArrayList<>();
    int n = 0;
    try {
      while (n < blockSize) {
        int want = Math.min(pool.chunkSize(), blockSize - n);
        byte[] chunk = want == pool.chunkSize() ? pool.take() : new byte[want];
        chunks.add(chunk);
        int k = readFully(content, chunk, want);
        if (k > 0) {
          data.add(ByteBuffer.wrap(chunk, 0, k));
          n += k;
        }
        if (k < want) {
          break;
        }
      }
    } catch (IOException | RuntimeException e) {
      chunks.forEach(pool::give); // never sent
      throw e;
    }
    if (n < blockSize) {
      ObjectInfo stored = single(data, n, metadata.get());
      chunks.forEach(pool::give); // the request was answered: nothing holds them any more
      return stored;
    }
    byte[] first = concat(data, n);
    chunks.forEach(pool::give); // copied, never sent
    return staged(content, first, blockSize, metadata);
  }

  private static byte[] concat(List<ByteBuffer> chunks, int length) {
    byte[] all = new byte[length];
    int at = 0;
    for (ByteBuffer c : chunks) {
      System.arraycopy(c.array(), c.arrayOffset() + c.position(), all, at, c.remaining());
      at += c.remaining();
    }
    return all;
  }

  private ObjectInfo single(List<ByteBuffer> data, int length, ObjectMetadata meta) throws IOException {
    try {
      BlockBlobItem item = retry.call(Operation.COMMIT, "create of " + key, () -> {
        // Fresh views of the buffers per try: a failed try may have consumed them.
        var body = BinaryData.fromListByteBuffer(data.stream().map(ByteBuffer::duplicate).toList());
        var options = new BlockBlobSimpleUploadOptions(body)
            .setMetadata(MetadataNames.toAzure(meta))
            .setRequestConditions(new BlobRequestConditions().setIfNoneMatch("*"));
        return blob.uploadWithResponse(options, null, Context.NONE).getValue();
      }, AzureErrors::retryable);
      return new ObjectInfo(key, length, item.getLastModified().toInstant(), meta);
    } catch (RuntimeException e) {
      IOException error = translateWrite("create", e);
      if (error instanceof ObjectExistsException && length > 0 && !committedBlobExists()) {
        // Azurite (3.35) refuses Put Blob with If-None-Match: * while uncommitted blocks of an
        // earlier failed create linger; a block list commit only looks at committed blobs.
        return staged(InputStream.nullInputStream(), concat(data, length), length, () -> meta);
      }
      throw error;
    }
  }

  private boolean committedBlobExists() throws IOException {
    try {
      retry.call(Operation.READ, "existence check of " + key,
          () -> blob.getPropertiesWithResponse(null, null, Context.NONE), AzureErrors::retryable);
      return true;
    } catch (RuntimeException e) {
      if (AzureErrors.is(e, 404, null)) {
        return false;
      }
      throw errors.translate("create (existence check)", key, e);
    }
  }

  private ObjectInfo staged(InputStream content, byte[] first, int firstLength,
      Supplier<ObjectMetadata> metadata) throws IOException {
    String attempt = UUID.randomUUID().toString();
    int buffers = concurrency + 1;
    BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(buffers);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<String> ids = new ArrayList<>();
    List<CompletableFuture<?>> inFlight = new ArrayList<>();
    int allocated = 1;
    long size = 0;
    byte[] buffer = first;
    int n = firstLength;
    try {
      while (n > 0 && failure.get() == null) {
        if (ids.size() == MAX_BLOCKS) {
          throw new StorageException("create of " + key + " exceeds " + MAX_BLOCKS + " blocks of "
              + blockSize + " bytes: raise storage.azure.blockSize");
        }
        String id = blockId(attempt, ids.size());
        ids.add(id);
        size += n;
        inFlight.add(stage(id, buffer, n, free, failure));
        inFlight.removeIf(CompletableFuture::isDone);
        if (n < blockSize) {
          break;
        }
        buffer = free.poll();
        if (buffer == null && allocated < buffers) {
          buffer = new byte[blockSize];
          allocated++;
        } else if (buffer == null) {
          buffer = free.take();
        }
        n = readFully(content, buffer);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException("create of " + key + " was interrupted; nothing was stored", e);
    } finally {
      awaitAll(inFlight);
    }
    if (failure.get() != null) {
      throw translateWrite("create (stage block)", failure.get());
    }
    ObjectMetadata meta = metadata.get();
    var options = new BlockBlobCommitBlockListOptions(ids)
        .setMetadata(MetadataNames.toAzure(meta))
        .setRequestConditions(new BlobRequestConditions().setIfNoneMatch("*"));
    try {
      BlockBlobItem item = retry.call(Operation.COMMIT, "commit of " + key,
          () -> blob.commitBlockListWithResponse(options, null, Context.NONE).getValue(),
          AzureErrors::retryable);
      return new ObjectInfo(key, size, item.getLastModified().toInstant(), meta);
    } catch (RuntimeException e) {
      throw translateWrite("create (commit block list)", e);
    }
  }

  private CompletableFuture<Void> stage(String id, byte[] buffer, int length,
      BlockingQueue<byte[]> free, AtomicReference<Throwable> failure) {
    return CompletableFuture.runAsync(() -> {
      try {
        if (failure.get() == null) {
          retry.call(Operation.BLOCK, "block " + id + " of " + key, () -> {
            var data = BinaryData.fromByteBuffer(ByteBuffer.wrap(buffer, 0, length));
            return blob.stageBlockWithResponse(new BlockBlobStageBlockOptions(id, data), null,
                Context.NONE);
          }, AzureErrors::retryable);
        }
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      } finally {
        free.offer(buffer);
      }
    }, executor);
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

  private IOException translateWrite(String operation, Throwable e) {
    if (AzureErrors.is(e, 409, BlobErrorCode.BLOB_ALREADY_EXISTS)
        || AzureErrors.is(e, 412, null)) {
      return new ObjectExistsException(key);
    }
    return errors.translate(operation, key, e);
  }

  /** Same-length ids (Azure requires it), unique per attempt. */
  private static String blockId(String attempt, int index) {
    String raw = attempt + "-" + String.format("%06d", index);
    return Base64.getEncoder().encodeToString(raw.getBytes(StandardCharsets.US_ASCII));
  }

  /** Fills {@code buffer} unless the stream ends first; returns the bytes read. */
  private int readFully(InputStream in, byte[] buffer) throws StorageException {
    return readFully(in, buffer, buffer.length);
  }

  /** Fills the first {@code length} bytes of {@code buffer} unless the stream ends first. */
  private int readFully(InputStream in, byte[] buffer, int length) throws StorageException {
    int total = 0;
    try {
      while (total < length) {
        int r = in.read(buffer, total, length - total);
        if (r < 0) {
          break;
        }
        total += r;
      }
    } catch (IOException e) {
      throw new StorageException("create of " + key + " failed while reading its content: "
          + e.getMessage() + "; nothing was stored", e);
    }
    return total;
  }
}
