package io.pgsidecar.core.storage.fs;

import io.pgsidecar.core.storage.ExistingObject;
import io.pgsidecar.core.storage.ObjectExistsException;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The filesystem driver, the embedded default: each object is a plain file under {@code root}
 * whose path is its key, so an operator can read the repository with {@code ls} and {@code zstd}.
 *
 * <p>How a create stays all-or-nothing and never replaces:
 * <ol>
 *   <li>the content streams into a hidden temp file beside the target, then is fsynced;</li>
 *   <li>the metadata is written, fsynced, to a hidden sidecar named after the temp file's inode
 *       ({@code .<name>.<inode>.meta}), so two racing creates never write the same sidecar;</li>
 *   <li>the temp file is hard-linked to the key: {@code link(2)} fails when the name exists, so of
 *       concurrent creates exactly one wins, and the object appears already carrying its
 *       metadata (the link shares the inode the sidecar is named after);</li>
 *   <li>the directory is fsynced and the temp name removed.</li>
 * </ol>
 * Names starting with a dot are the driver's own (temp files, sidecars) and never listed; keys
 * may therefore not have a segment starting with a dot. Debris of a crash is at most hidden
 * files, harmless to readers.
 *
 * <p>Symbolic links below the root are never followed (see {@link NoFollow}): an object, sidecar
 * or directory that is a link is refused by every operation with an "unsafe repository" error
 * naming the key and the link, and is neither read, listed, written through nor removed. The
 * root itself may be a link: {@code storage.path} is the operator's choice of mount path.
 */
public final class FsStorage implements Storage {

  private static final int COPY_BUFFER = 1 << 20;

  private final Path root;
  private final NoFollow noFollow;

  public FsStorage(Path root) {
    this.root = root.toAbsolutePath().normalize();
    this.noFollow = new NoFollow(this.root);
  }

  /** The directory holding the repository. */
  public Path root() {
    return root;
  }

  @Override
  public ObjectInfo create(String key, InputStream content, Supplier<ObjectMetadata> metadata)
      throws IOException {
    Path target = resolve(key);
    requireRoot("create " + key);
    Path temp = null;
    Path sidecar = null;
    try {
      Path dir = noFollow.makeParents("create", key);
      noFollow.inspect("create", key); // a link or special file there: refused before any work
      temp = dir.resolve("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
      long size = copyAndSync(content, temp, key);
      ObjectMetadata meta = metadata.get();
      Path sidecarPath = Sidecars.pathFor(target, Sidecars.inode(temp));
      Sidecars.write(sidecarPath, meta, key, noFollow);
      sidecar = sidecarPath;
      try {
        Files.createLink(target, temp);
      } catch (FileAlreadyExistsException e) {
        Files.deleteIfExists(sidecar);
        sidecar = null;
        return ExistingObject.ownOrConflict(this, key, meta, new ObjectExistsException(key));
      }
      sidecar = null; // now belongs to the object
      Files.delete(temp);
      temp = null;
      syncDirectory(dir);
      return new ObjectInfo(key, size,
          Files.getLastModifiedTime(target, LinkOption.NOFOLLOW_LINKS).toInstant(), meta);
    } catch (StorageException e) {
      throw e;
    } catch (IOException | UncheckedIOException e) {
      throw new StorageException("create of " + key + " in " + root + " failed: " + e
          + "; check that the path is writable and has free space", e);
    } finally {
      deleteQuietly(temp);
      deleteQuietly(sidecar);
    }
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    Path target = resolve(key);
    requireRoot("stat " + key);
    try {
      if (noFollow.inspect("stat", key) == NoFollow.Found.MISSING) {
        requireRepository("stat", key);
        return Optional.empty();
      }
      return Optional.of(info("stat", key, target));
    } catch (NoSuchFileException e) {
      requireRepository("stat", key);
      return Optional.empty();
    } catch (StorageException e) {
      throw e;
    } catch (IOException e) {
      throw new StorageException("stat of " + key + " in " + root + " failed: " + e, e);
    }
  }

  @Override
  public Optional<InputStream> open(String key) throws IOException {
    Path target = resolve(key);
    requireRoot("open " + key);
    if (noFollow.inspect("open", key) == NoFollow.Found.MISSING) {
      requireRepository("open", key);
      return Optional.empty();
    }
    try {
      return Optional.of(Files.newInputStream(target, StandardOpenOption.READ,
          LinkOption.NOFOLLOW_LINKS));
    } catch (NoSuchFileException e) {
      requireRepository("open", key);
      return Optional.empty();
    } catch (IOException e) {
      if (Files.isSymbolicLink(target)) { // planted since the check: O_NOFOLLOW refused it
        throw noFollow.linkRefused("open", key, target);
      }
      throw new StorageException("open of " + key + " in " + root + " failed: " + e, e);
    }
  }

  @Override
  public Stream<ObjectInfo> list(String prefix) throws IOException {
    if (!prefix.isEmpty()) {
      validate(prefix.endsWith("/") ? prefix + "x" : prefix);
    }
    requireRoot("list " + prefix);
    SortedWalk walk;
    try {
      walk = new SortedWalk(root, prefix, noFollow);
    } catch (UncheckedIOException e) {
      throw e.getCause(); // the first directory's refusal, as a checked error of list() itself
    }
    var spliterator = Spliterators.spliteratorUnknownSize(walk,
        Spliterator.ORDERED | Spliterator.SORTED | Spliterator.DISTINCT | Spliterator.NONNULL);
    return StreamSupport.stream(spliterator, false).map(key -> {
      try {
        return info("list", key, root.resolve(key));
      } catch (StorageException e) {
        throw new UncheckedIOException(e);
      } catch (IOException e) {
        throw new UncheckedIOException(
            new StorageException("list of " + prefix + " in " + root + " failed at " + key + ": " + e, e));
      }
    });
  }

  @Override
  public boolean delete(String key) throws IOException {
    Path target = resolve(key);
    requireRoot("delete " + key);
    try {
      if (noFollow.inspect("delete", key) == NoFollow.Found.MISSING) {
        return false;
      }
      long inode;
      try {
        inode = Sidecars.inode(target);
      } catch (NoSuchFileException e) {
        return false;
      }
      if (!Files.deleteIfExists(target)) {
        return false;
      }
      Files.deleteIfExists(Sidecars.pathFor(target, inode));
      syncDirectory(target.getParent());
      return true;
    } catch (StorageException e) {
      throw e;
    } catch (IOException e) {
      throw new StorageException("delete of " + key + " in " + root + " failed: " + e, e);
    }
  }

  @Override
  public void probe() throws IOException {
    requireRoot("probe");
    if (!Files.isWritable(root)) {
      throw new StorageException("storage path " + root + " is not writable by this process: "
          + "fix its owner or mode, or fix storage.path");
    }
  }

  @Override
  public String describe() {
    return "file://" + root;
  }

  /** Size, time and metadata of the file at {@code target}, which must not be a link. */
  private ObjectInfo info(String operation, String key, Path target) throws IOException {
    Map<String, Object> a = Files.readAttributes(target,
        "unix:ino,size,lastModifiedTime,isSymbolicLink", LinkOption.NOFOLLOW_LINKS);
    if ((Boolean) a.get("isSymbolicLink")) {
      throw noFollow.linkRefused(operation, key, target);
    }
    long inode = (Long) a.get("ino");
    var modified = ((FileTime) a.get("lastModifiedTime")).toInstant();
    ObjectMetadata meta = Sidecars.read(Sidecars.pathFor(target, inode), operation, key, noFollow);
    return new ObjectInfo(key, (Long) a.get("size"), modified, meta);
  }

  private void requireRoot(String operation) throws StorageException {
    rootIsEmpty(operation);
  }

  /**
   * Whether the root holds no entry at all (hidden ones included); throws when the root is
   * missing, not a directory, or cannot be listed by this process. Listing it is what proves it
   * readable: a root-owned 0700 directory passes {@code isDirectory} for any user.
   */
  private boolean rootIsEmpty(String operation) throws StorageException {
    if (!Files.isDirectory(root)) {
      throw new StorageException("storage path " + root + " does not exist or is not a directory ("
          + operation + "): create it or fix storage.path");
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
      return !entries.iterator().hasNext();
    } catch (IOException | DirectoryIteratorException e) {
      throw new StorageException("storage unavailable: storage path " + root + " cannot be read by"
          + " this process (user " + System.getProperty("user.name") + ") (" + operation + "): "
          + e + "; give that user read and search access to it (owner, group or mode), or fix"
          + " storage.path", e);
    }
  }

  /**
   * A missing object is reported as missing only from a repository that is there. An empty root
   * is what an unmounted volume looks like (its mount point), and answering "not found" from it
   * would end a recovery early on a partial history (restore_command's exit 1). So, before
   * saying "not found" for {@code key}: the root must be readable and hold something, except for
   * a {@code cluster.json}, the first object an agent reads and then creates in a brand-new
   * repository (a new volume is empty, or holds only {@code lost+found}).
   */
  private void requireRepository(String operation, String key) throws StorageException {
    if (rootIsEmpty(operation + " " + key) && !key.endsWith("/cluster.json")
        && !key.equals("cluster.json")) {
      throw new StorageException("storage unavailable: storage path " + root + " is empty, so "
          + key + " cannot be looked up (" + operation + "): an unmounted volume looks like this;"
          + " mount the repository's volume there, or fix storage.path (a new repository gets"
          + " its first objects from the first WAL push)");
    }
  }

  /** A temp file of an interrupted create: {@code .<name>.<uuid>.tmp} beside its target. */
  private static final java.util.regex.Pattern TEMP =
      java.util.regex.Pattern.compile("\\..+\\.[0-9a-f-]{36}\\.tmp");

  /** The temp files interrupted creates left under {@code prefix} (links are not followed). */
  @Override
  public Stream<ObjectInfo> listDebris(String prefix) throws IOException {
    if (!prefix.isEmpty()) {
      validate(prefix.endsWith("/") ? prefix + "x" : prefix);
    }
    requireRoot("list debris " + prefix);
    Path dir = prefix.isEmpty() ? root : root.resolve(prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix);
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return Stream.empty();
    }
    java.util.List<ObjectInfo> out = new java.util.ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (TEMP.matcher(p.getFileName().toString()).matches()
            && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          String key = root.relativize(p).toString().replace(java.io.File.separatorChar, '/');
          out.add(new ObjectInfo(key, Files.size(p),
              Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant(),
              new ObjectMetadata("", -1, "", "")));
        }
      }
    } catch (UncheckedIOException e) {
      throw new StorageException("listing the temp files under " + dir + " failed: " + e.getCause(), e.getCause());
    }
    return out.stream();
  }

  /** Deletes a temp file {@link #listDebris} found; no component of its path may be a link. */
  @Override
  public boolean deleteDebris(String key) throws IOException {
    int slash = key.lastIndexOf('/');
    if (slash > 0) {
      validate(key.substring(0, slash));
    }
    if (!TEMP.matcher(key.substring(slash + 1)).matches()) {
      throw new IllegalArgumentException(key + " is not a temp file of an interrupted create in " + root);
    }
    Path p = root;
    for (String segment : key.split("/")) {
      p = p.resolve(segment);
      if (Files.isSymbolicLink(p)) {
        throw new StorageException("unsafe repository: " + p + " is a symbolic link; the temp file "
            + key + " is left alone, remove the link (nothing below storage.path may be one)");
      }
    }
    return Files.deleteIfExists(p);
  }

  private Path resolve(String key) {
    validate(key);
    return root.resolve(key);
  }

  /** Keys are relative, slash-separated, without empty, dot or dot-dot segments. */
  static void validate(String key) {
    if (key == null || key.isEmpty()) {
      throw new IllegalArgumentException("storage key must not be empty");
    }
    if (key.startsWith("/") || key.contains("\\") || key.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("storage key " + key
          + " is not a relative path of '/'-separated names");
    }
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.startsWith(".")) {
        throw new IllegalArgumentException("storage key " + key
            + " has an empty segment or one starting with '.' (such as '..'); those are refused");
      }
    }
  }

  private static long copyAndSync(InputStream content, Path temp, String key) throws IOException {
    try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
      byte[] buffer = new byte[COPY_BUFFER];
      long size = 0;
      while (true) {
        int n;
        try {
          n = content.read(buffer);
        } catch (IOException e) {
          throw new StorageException("create of " + key + " failed while reading its content: "
              + e.getMessage() + "; nothing was stored", e);
        }
        if (n < 0) {
          break;
        }
        ByteBuffer bb = ByteBuffer.wrap(buffer, 0, n);
        while (bb.hasRemaining()) {
          out.write(bb);
        }
        size += n;
      }
      out.force(true);
      return size;
    }
  }

  /** {@code dir} was checked to be no link, or is the root, which may be one. */
  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  private static void deleteQuietly(Path p) {
    if (p != null) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException ignored) {
        // debris is hidden and harmless; the original failure is what matters
      }
    }
  }
}
