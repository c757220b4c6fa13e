package io.pgsidecar.core.storage.fs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;

/**
 * The metadata sidecar of a filesystem object: {@code .<name>.<inode>.meta}, a small JSON map
 * beside the data file. Naming it after the data file's inode ties it to one exact file: a hard
 * link keeps the inode, so the sidecar written for a temp file is found from the linked object,
 * while a losing concurrent create (another inode) or crash debris never matches.
 */
final class Sidecars {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<Map<String, String>> MAP = new TypeReference<>() {};

  private Sidecars() {}

  /** The inode of {@code file} itself (of a link, not of what it points to). */
  static long inode(Path file) throws IOException {
    return (Long) Files.getAttribute(file, "unix:ino", LinkOption.NOFOLLOW_LINKS);
  }

  static Path pathFor(Path data, long inode) {
    return data.resolveSibling("." + data.getFileName() + "." + inode + ".meta");
  }

  /**
   * Writes and fsyncs the sidecar, and its directory entry, before the data is linked. A link
   * under the sidecar's name is refused and left as it is (never written through); a sidecar
   * this call began is removed if it fails.
   */
  static void write(Path sidecar, ObjectMetadata meta, String key, NoFollow noFollow)
      throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(meta.toMap());
    // An old sidecar under this name can only be debris: its inode now belongs to our temp file.
    FileChannel out;
    try {
      out = FileChannel.open(sidecar, StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE,
          LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      if (Files.isSymbolicLink(sidecar)) {
        throw noFollow.linkRefused("create", key, sidecar);
      }
      throw e;
    }
    try (out) {
      ByteBuffer bb = ByteBuffer.wrap(bytes);
      while (bb.hasRemaining()) {
        out.write(bb);
      }
      out.force(true);
    } catch (IOException e) {
      Files.deleteIfExists(sidecar);
      throw e;
    }
    FsStorage.syncDirectory(sidecar.getParent());
  }

  /** The metadata of {@code key} from its sidecar, read without following a link. */
  static ObjectMetadata read(Path sidecar, String operation, String key, NoFollow noFollow)
      throws IOException {
    byte[] bytes;
    try {
      var a = Files.readAttributes(sidecar, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (a.isSymbolicLink()) {
        throw noFollow.linkRefused(operation, key, sidecar);
      }
      if (!a.isRegularFile()) {
        throw new StorageException("metadata of " + key + " is unreadable: " + sidecar
            + " is not a regular file; move it out of the repository");
      }
      try (InputStream in = Files.newInputStream(sidecar, StandardOpenOption.READ,
          LinkOption.NOFOLLOW_LINKS)) {
        bytes = in.readAllBytes();
      }
    } catch (StorageException e) {
      throw e;
    } catch (NoSuchFileException e) {
      throw new StorageException("metadata of " + key + " is missing (expected " + sidecar
          + "); the object was not written by pgsidecar or its sidecar was removed", e);
    } catch (IOException e) {
      if (Files.isSymbolicLink(sidecar)) {
        throw noFollow.linkRefused(operation, key, sidecar);
      }
      throw e;
    }
    return ObjectMetadata.fromMap(JSON.readValue(bytes, MAP));
  }
}
