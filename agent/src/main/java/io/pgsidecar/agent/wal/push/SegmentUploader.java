package io.pgsidecar.agent.wal.push;

import java.lang.System.Logger.Level;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.io.DigestingInputStream;
import io.pgsidecar.agent.storage.EncodingInputStream;
import io.pgsidecar.agent.storage.Retry;
import io.pgsidecar.agent.wal.archive.WalObjects;
import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * The per-file work of a WAL push: store one file from pg_wal under its repository key, or prove
 * that the archive already holds the same content. Nothing is ever overwritten: an object with
 * the same name and other content is a conflict (409), which an operator must look at, because
 * one of the two copies is not the history this server wrote.
 */
public final class SegmentUploader {

  private static final System.Logger LOG = System.getLogger(SegmentUploader.class.getName());

  private final Storage storage;
  private final CodecPipeline pipeline;
  private final RepositoryLayout layout;
  private final Retry retry;

  public SegmentUploader(Storage storage, CodecPipeline pipeline, RepositoryLayout layout, Retry retry) {
    this.storage = storage;
    this.pipeline = pipeline;
    this.layout = layout;
    this.retry = retry;
  }

  /**
   * Makes {@code pg_wal/<name>} (in the agent's view {@code pgWal}) durable, returning only once
   * the storage has acknowledged the object. The file is read only through {@link PgWalFile}.
   *
   * @throws JobException CONFLICT (409) when the archive holds other content under this name
   * @throws JobException INVALID_INPUT ({@link PgWalFile#isRefusal}) when the file is not one
   *     PostgreSQL wrote (400)
   * @throws IOException when storage fails after the configured retries
   */
  public Stored upload(WalFileName name, Path pgWal) throws IOException {
    Path file = pgWal.resolve(name.name());
    String key = layout.walKey(name.name(), pipeline.suffix());
    Optional<ObjectInfo> existing = retry.call("look up " + key,
        () -> WalObjects.find(storage, layout, name, pipeline.suffix()));
    if (existing.isPresent()) {
      return compare(name, pgWal, existing.get());
    }
    try {
      ObjectInfo info = retry.call("store " + key, () -> create(key, pgWal, name));
      return new Stored(name.name(), key, info.metadata().plainSha256(), info.metadata().plainSize(),
          info.storedSize(), false, Stored.Answer.OWN_UPLOAD);
    } catch (ObjectExistsException e) {
      // a concurrent push, or an attempt that timed out but did finish, stored it first
      ObjectInfo info = retry.call("stat " + key, () -> storage.stat(key))
          .orElseThrow(() -> new IOException("store " + key + " reported 'exists' but the object"
              + " cannot be found; check that nothing deletes from the archive"));
      return compare(name, pgWal, info);
    }
  }

  private ObjectInfo create(String key, Path pgWal, WalFileName name) throws IOException {
    try (DigestingInputStream plain = new DigestingInputStream(
            Channels.newInputStream(PgWalFile.open(pgWal, name)));
        InputStream encoded = new EncodingInputStream(plain, pipeline)) {
      // the metadata supplier runs after the content is read to its end: the digest is final
      return storage.create(key, encoded, () -> new ObjectMetadata(
          plain.sha256Hex(), plain.size(), pipeline.name(), pipeline.keyFingerprint()));
    }
  }

  private Stored compare(WalFileName name, Path pgWal, ObjectInfo stored) throws IOException {
    Path file = pgWal.resolve(name.name());
    long[] size = new long[1];
    String local = sha256(pgWal, name, size);
    String archived = stored.metadata().plainSha256();
    if (local.equals(archived)) {
      LOG.log(Level.INFO, name + " is already archived as " + stored.key() + " with the same SHA-256 " + local);
      return new Stored(name.name(), stored.key(), local, size[0], stored.storedSize(), true, Stored.Answer.OWN_UPLOAD);
    }
    String what = name.isHistory() ? "timeline history file " : "WAL file ";
    String message = "refusing to archive " + what + name + ": the archive already holds "
        + stored.key() + " with SHA-256 " + archived + " but " + file + " has SHA-256 " + local
        + "; nothing was overwritten. Another server may be archiving into this path, or this"
        + " server's history diverged: keep both copies and investigate before archiving resumes";
    LOG.log(Level.ERROR, message);
    throw JobException.conflict(message).with("name", name.name()).with("key", stored.key())
        .with("archivedSha256", archived).with("localSha256", local);
  }

  private static String sha256(Path pgWal, WalFileName name, long[] size) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream in = new DigestInputStream(Channels.newInputStream(PgWalFile.open(pgWal, name)), md)) {
      size[0] = in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
