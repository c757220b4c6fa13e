package io.pgsidecar.core.storage.fs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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

  static long inode(Path file) throws IOException {
    return (Long) Files.getAttribute(file, "unix:ino");
  }

  static Path pathFor(Path data, long inode) {
    return data.resolveSibling("." + data.getFileName() + "." + inode + ".meta");
  }

  /** Writes and fsyncs the sidecar, and its directory entry, before the data is linked. */
  static void write(Path sidecar, ObjectMetadata meta) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(meta.toMap());
    // An old sidecar under this name can only be debris: its inode now belongs to our temp file.
    try (FileChannel out = FileChannel.open(sidecar, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer bb = ByteBuffer.wrap(bytes);
      while (bb.hasRemaining()) {
        out.write(bb);
      }
      out.force(true);
    }
    FsStorage.syncDirectory(sidecar.getParent());
  }

  static ObjectMetadata read(Path sidecar, String key) throws IOException {
    try {
      return ObjectMetadata.fromMap(JSON.readValue(Files.readAllBytes(sidecar), MAP));
    } catch (NoSuchFileException e) {
      throw new StorageException("metadata of " + key + " is missing (expected " + sidecar
          + "); the object was not written by pgsidecar or its sidecar was removed", e);
    }
  }
}
