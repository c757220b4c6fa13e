package io.pgsidecar.core.retention;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

/**
 * Permanent backups and dumps: a keep mark is its own small object ({@code keep.json} in the
 * item's folder, see {@link RepositoryLayout#baseKeepMark}). Marking creates it, releasing
 * deletes it; no stored object is ever rewritten. Retention never removes a marked item, nor the
 * WAL a marked base backup needs to reach consistency. The mark is stored plain: it holds the
 * id, when it was made and a note, nothing secret.
 */
public final class PermanentMarks {

  /** Which kind of item a mark is for. */
  public enum Kind {
    BASE_BACKUP("base backup", "pgsidecar backup list"),
    DUMP("dump", "pgsidecar dump list");

    private final String noun;
    private final String listCommand;

    Kind(String noun, String listCommand) {
      this.noun = noun;
      this.listCommand = listCommand;
    }
  }

  private final Storage storage;
  private final RepositoryLayout layout;

  public PermanentMarks(Storage storage, RepositoryLayout layout) {
    this.storage = storage;
    this.layout = layout;
  }

  /**
   * Marks a complete backup or dump permanent.
   *
   * @return {@code true} when the mark was made, {@code false} when it was there already
   * @throws JobException NOT_FOUND when no complete item has this id, INVALID_INPUT for a
   *     malformed id, STORAGE_UNAVAILABLE when storage fails
   */
  public boolean keep(Kind kind, String id, String note, Instant now) {
    requireId(kind, id);
    String manifest = kind == Kind.BASE_BACKUP ? layout.baseManifest(id) : layout.dumpManifest(id);
    String mark = markKey(kind, id);
    try {
      if (storage.stat(manifest).isEmpty()) {
        throw JobException.notFound("no complete " + kind.noun + " " + id + " in "
            + storage.describe() + " (" + manifest + " does not exist); " + kind.listCommand
            + " shows the ids").with("id", id);
      }
      if (storage.stat(mark).isPresent()) {
        return false;
      }
      byte[] json = ("{\"formatVersion\":1,\"id\":\"" + id + "\",\"markedAt\":\"" + now
          + "\",\"note\":\"" + escape(note) + "\"}\n").getBytes(StandardCharsets.UTF_8);
      storage.create(mark, new ByteArrayInputStream(json),
          () -> new ObjectMetadata(sha256(json), json.length, "none", ""));
      return true;
    } catch (ObjectExistsException e) {
      return false; // marked meanwhile by someone else: permanent either way
    } catch (IOException e) {
      throw JobException.storageUnavailable("cannot mark " + kind.noun + " " + id + " permanent in "
          + storage.describe() + " (" + mark + "): " + e.getMessage() + "; check the storage and"
          + " try again", e);
    }
  }

  /**
   * Removes the keep mark: retention treats the item like any other from its next run.
   *
   * @return {@code true} when a mark was removed, {@code false} when there was none
   */
  public boolean release(Kind kind, String id) {
    requireId(kind, id);
    String mark = markKey(kind, id);
    try {
      return storage.delete(mark);
    } catch (IOException e) {
      throw JobException.storageUnavailable("cannot release " + kind.noun + " " + id + " in "
          + storage.describe() + " (" + mark + "): " + e.getMessage() + "; check the storage and"
          + " try again", e);
    }
  }

  public boolean isPermanent(Kind kind, String id) {
    requireId(kind, id);
    try {
      return storage.stat(markKey(kind, id)).isPresent();
    } catch (IOException e) {
      throw JobException.storageUnavailable("cannot read the keep mark of " + kind.noun + " " + id
          + " in " + storage.describe() + ": " + e.getMessage(), e);
    }
  }

  private String markKey(Kind kind, String id) {
    return kind == Kind.BASE_BACKUP ? layout.baseKeepMark(id) : layout.dumpKeepMark(id);
  }

  private static void requireId(Kind kind, String id) {
    if (!BackupIds.isValid(id)) {
      throw JobException.invalidInput("'" + (id == null ? "" : id.length() > 64 ? id.substring(0, 64)
          + "..." : id) + "' is not a " + kind.noun + " id (expected like 20261122T021500Z or"
          + " 20261122T021500Z-1)");
    }
  }

  private static String escape(String s) {
    StringBuilder sb = new StringBuilder();
    for (char c : (s == null ? "" : s).toCharArray()) {
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20 || c > 0x7e) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  private static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
