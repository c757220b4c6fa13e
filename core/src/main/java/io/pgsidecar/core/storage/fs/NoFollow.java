package io.pgsidecar.core.storage.fs;

import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Looks at a key's path below the root one component at a time, never following a symbolic link.
 *
 * <p>Why: the repository is a directory other processes can write into (another agent on the same
 * volume, an operator's copy, a compromised pod). A link planted there, as an object
 * ({@code wal/.../000000010000000000000003.zst -> /etc/shadow}) or as a directory
 * ({@code prod -> /}), would otherwise make the agent, often running as root, read a file
 * outside the repository and serve it as WAL, overwrite or delete through it, or answer "not
 * found" for a dangling one, which ends a recovery early. So a link anywhere below the root is
 * refused, loudly, naming the key and the link; it is never read, listed, written through or
 * removed. The root itself ({@code storage.path}) and the directories above it are the
 * operator's configuration and may be links (a volume mounted behind a link).
 *
 * <p>The check is {@code lstat} of every component; then the last component is opened with
 * {@code O_NOFOLLOW}, created with {@code O_EXCL} (temp files, beside the object in the checked
 * directory) or linked with {@code link(2)}, none of which follows a link there. What is left:
 * a directory component swapped for a link between the check and the use. That needs a process
 * racing the agent inside the repository (which can already delete every object), and even then
 * reaches only a file that carries the key's own name in a directory of the attacker's choosing.
 */
final class NoFollow {

  /** What is at a key's path. */
  enum Found {
    /** Nothing, or not an object: a directory (a prefix), or a parent that is not a directory. */
    MISSING,
    /** A regular file, reached through real directories only. */
    FILE
  }

  private final Path root;

  NoFollow(Path root) {
    this.root = root;
  }

  /**
   * What is at {@code key}'s path, without following links.
   *
   * @throws StorageException when a component below the root is a link, or the key names a
   *     special file (FIFO, socket, device), which no open must block on
   */
  Found inspect(String operation, String key) throws StorageException {
    String[] names = key.split("/");
    Path p = root;
    for (int i = 0; i < names.length; i++) {
      p = p.resolve(names[i]);
      BasicFileAttributes a = lstat(p, operation, key);
      if (a == null) {
        return Found.MISSING;
      }
      if (a.isSymbolicLink()) {
        throw linkRefused(operation, key, p);
      }
      boolean last = i == names.length - 1;
      if (!last && !a.isDirectory()) {
        return Found.MISSING; // a file where a directory would be: the key cannot exist
      }
      if (last && !a.isRegularFile()) {
        if (a.isDirectory()) {
          return Found.MISSING; // a prefix, not an object
        }
        throw new StorageException(operation + " of " + key + " in " + root + " failed: "
            + root.relativize(p) + " is a special file (FIFO, socket or device), not an object"
            + " pgsidecar wrote; nothing was read: move it out of the repository");
      }
    }
    return Found.FILE;
  }

  /**
   * Whether {@code dirKey} (a key prefix ending in '/') is a real directory below the root: a
   * link on the way is refused, anything missing or not a directory is {@code false}.
   */
  boolean isDirectory(String operation, String key, String dirKey) throws StorageException {
    Path p = root;
    for (String name : dirKey.split("/")) {
      p = p.resolve(name);
      BasicFileAttributes a = lstat(p, operation, key);
      if (a == null) {
        return false;
      }
      if (a.isSymbolicLink()) {
        throw linkRefused(operation, key, p);
      }
      if (!a.isDirectory()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Makes the missing directories above {@code key} one at a time, refusing any link on the way
   * ({@code Files.createDirectories} would accept a link to a directory), and returns the parent.
   */
  Path makeParents(String operation, String key) throws IOException {
    String[] names = key.split("/");
    Path p = root;
    for (int i = 0; i < names.length - 1; i++) {
      p = p.resolve(names[i]);
      BasicFileAttributes a = lstat(p, operation, key);
      if (a == null) {
        try {
          Files.createDirectory(p); // mkdir(2) never follows a link at its last component
          continue;
        } catch (FileAlreadyExistsException raced) {
          a = lstat(p, operation, key); // another writer made it (or planted something) meanwhile
          if (a == null) {
            throw new StorageException(operation + " of " + key + " in " + root + " failed: "
                + root.relativize(p) + " appeared and vanished while it was created; retry");
          }
        }
      }
      if (a.isSymbolicLink()) {
        throw linkRefused(operation, key, p);
      }
      if (!a.isDirectory()) {
        throw new StorageException(operation + " of " + key + " in " + root + " failed: "
            + root.relativize(p) + " is not a directory; nothing pgsidecar writes is named so:"
            + " move it out of the repository");
      }
    }
    return p;
  }

  /**
   * The refusal of a link below the root: what was asked, which link, where it points, and what
   * to do. Dangling links are refused the same way: they are never "not found".
   */
  StorageException linkRefused(String operation, String key, Path link) {
    String target;
    try {
      target = Files.readSymbolicLink(link).toString();
    } catch (IOException e) {
      target = "?";
    }
    return new StorageException("unsafe repository: " + operation + " of "
        + (key.isEmpty() ? "all keys" : key) + " in " + root
        + " refused: " + root.relativize(link) + " is a symbolic link (to " + target + ");"
        + " pgsidecar never follows a link inside the repository, where it could read, overwrite"
        + " or delete a file elsewhere: remove the link, and put the real file or directory there"
        + " if it belongs to this repository (only storage.path itself may be a link)");
  }

  /** The attributes of {@code p} itself (a link's own), or null when it does not exist. */
  private BasicFileAttributes lstat(Path p, String operation, String key) throws StorageException {
    try {
      return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new StorageException(operation + " of " + key + " in " + root + " failed at "
          + root.relativize(p) + ": " + e + "; check the permissions of the repository", e);
    }
  }
}
