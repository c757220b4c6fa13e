package io.pgsidecar.core.verify;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.io.DigestingInputStream;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads one stored object back to its end and checks every checksum recorded for it: the SHA-256
 * and size of the stored bytes and of the plain content as the record that lists the object
 * ({@code backup.json}, {@code dump.json}) gives them, and the plain SHA-256 and size the
 * object's own metadata carries. The plain content can be handed to a reader on the way (a tar
 * unpacked into a scratch directory, a segment written for {@code pg_verifybackup}), so an object
 * is read once whatever is done with it.
 *
 * <p>When the stored bytes differ from the record, that is what is reported, even if decoding
 * failed first: a flipped byte or a cut object shows as the checksum it breaks, which is the same
 * message whatever the codec makes of it.
 */
public final class StoredObjects {

  private StoredObjects() {}

  /**
   * What the record listing the object says; an empty checksum or a negative size is "not recorded".
   *
   * @param record names the record in messages: {@code backup.json}, {@code dump.json}
   */
  public record Expected(String record, String storedSha256, long storedSize, String plainSha256,
      long plainSize) {

    /** Only the object's own metadata is there to check against (a WAL segment). */
    public static Expected metadataOnly() {
      return new Expected("", "", -1, "", -1);
    }
  }

  /**
   * What was read and what it was checked against.
   *
   * @param checks one line per comparison made, e.g. {@code stored SHA-256 matches backup.json}
   */
  public record Checked(String key, long storedSize, String storedSha256, long plainSize,
      String plainSha256, List<String> checks) {}

  /** Consumes the plain content; it may stop early, the rest is read (and hashed) after it. */
  @FunctionalInterface
  public interface PlainReader {
    void read(InputStream plain) throws IOException;

    PlainReader DISCARD = in -> in.transferTo(OutputStream.nullOutputStream());
  }

  /**
   * Reads {@code key} and checks it.
   *
   * @param what names the thing in messages: {@code backup 20261205T101500Z}, {@code dump ...},
   *     {@code WAL segment ...}
   * @param remedy what to do when it is damaged, e.g. {@code take a new backup (pgsidecar backup create)}
   * @throws JobException VERIFICATION_FAILED naming the object when it is missing, unreadable or
   *     any checksum differs; STORAGE_UNAVAILABLE when the repository cannot be read
   */
  public static Checked check(Storage storage, CodecPipeline pipeline, String what, String key,
      String codec, Expected expected, PlainReader reader, String remedy) {
    ObjectInfo info = stat(storage, what, key, remedy);
    InputStream raw = open(storage, what, key, remedy);
    DigestingInputStream stored = new DigestingInputStream(raw);
    DigestingInputStream plain = null;
    Throwable failure = null;
    try (raw) {
      try {
        plain = new DigestingInputStream(pipeline.decode(stored, codec, key));
        reader.read(plain);
        plain.transferTo(OutputStream.nullOutputStream());
      } catch (StorageException e) {
        throw unavailable(storage, key, e);
      } catch (IOException | RuntimeException e) {
        failure = e; // a reader's own JobException too: reported after the stored bytes' check
      }
      // to the end, so a failure part-way still tells whether the stored bytes are the recorded ones
      try {
        stored.transferTo(OutputStream.nullOutputStream());
      } catch (StorageException e) {
        throw unavailable(storage, key, e);
      } catch (IOException e) {
        failure = failure == null ? e : failure;
      }
    } catch (IOException e) { // closing
      throw unavailable(storage, key, e);
    }
    List<String> checks = new ArrayList<>();
    String storedSha = stored.sha256Hex(); // digest() resets: read each once
    compare(what, key, "stored bytes", storedSha, stored.size(), expected.record(),
        expected.storedSha256(), expected.storedSize(), remedy, checks);
    if (failure instanceof JobException j) {
      throw j;
    }
    if (failure != null) {
      throw new JobException(JobException.Kind.VERIFICATION_FAILED, what + ": " + key
          + " cannot be read back: " + failure.getMessage() + "; " + remedy,
          Map.of("key", key), failure);
    }
    String plainSha = plain.sha256Hex();
    compare(what, key, "content", plainSha, plain.size(), expected.record(),
        expected.plainSha256(), expected.plainSize(), remedy, checks);
    ObjectMetadata meta = info.metadata();
    if (meta != null) {
      compare(what, key, "content", plainSha, plain.size(), "its metadata",
          meta.plainSha256(), meta.plainSize(), remedy, checks);
    }
    return new Checked(key, stored.size(), storedSha, plain.size(), plainSha, List.copyOf(checks));
  }

  private static void compare(String what, String key, String part, String sha, long size,
      String record, String wantSha, long wantSize, String remedy, List<String> checks) {
    boolean hasSha = wantSha != null && !wantSha.isEmpty();
    boolean hasSize = wantSize >= 0;
    if (record.isEmpty() || (!hasSha && !hasSize)) {
      return;
    }
    if ((hasSha && !sha.equalsIgnoreCase(wantSha)) || (hasSize && size != wantSize)) {
      throw new JobException(JobException.Kind.VERIFICATION_FAILED, what + ": " + key
          + " is damaged: its " + part + (part.endsWith("s") ? " have" : " has") + " SHA-256 " + sha + " (" + size + " bytes), "
          + record + " records " + (hasSha ? wantSha : "no SHA-256") + " ("
          + (hasSize ? wantSize + " bytes" : "no size") + "); " + remedy,
          Map.of("key", key, "sha256", sha, "expectedSha256", hasSha ? wantSha : ""), null);
    }
    checks.add(part + (hasSha ? " SHA-256" : "") + (hasSha && hasSize ? " and" : "")
        + (hasSize ? " size" : "") + " match " + record);
  }

  private static ObjectInfo stat(Storage storage, String what, String key, String remedy) {
    try {
      return storage.stat(key).orElseThrow(() -> missing(storage, what, key, remedy));
    } catch (IOException e) {
      throw unavailable(storage, key, e);
    }
  }

  private static InputStream open(Storage storage, String what, String key, String remedy) {
    try {
      return storage.open(key).orElseThrow(() -> missing(storage, what, key, remedy));
    } catch (IOException e) {
      throw unavailable(storage, key, e);
    }
  }

  static JobException missing(Storage storage, String what, String key, String remedy) {
    return new JobException(JobException.Kind.VERIFICATION_FAILED, what + ": " + key
        + " is missing from " + storage.describe() + "; " + remedy, Map.of("key", key), null);
  }

  static JobException unavailable(Storage storage, String key, IOException e) {
    return new JobException(JobException.Kind.STORAGE_UNAVAILABLE, "cannot read " + key + " from "
        + storage.describe() + ": " + e.getMessage() + "; check the storage and run the"
        + " verification again", Map.of("key", key), e);
  }
}
