package io.pgsidecar.core.storage.fs;

import io.pgsidecar.core.storage.StorageException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Walks the keys under a prefix in ascending key order, reading one directory at a time as the
 * caller advances. Directories sort as if their name ended with '/', which is where their keys
 * fall in plain string order ({@code a-c} &lt; {@code a/b} &lt; {@code a0}). Hidden names (the
 * driver's temp files and sidecars) are skipped. No link below the root is followed.
 */
final class SortedWalk implements Iterator<String> {

  private record Entry(String sortKey, String key, Path path, boolean directory) {}

  private final Deque<Iterator<Entry>> stack = new ArrayDeque<>();
  private final String prefix;
  private final NoFollow noFollow;
  private String next;

  /** Throws when a directory of {@code prefix} is a link (see {@link NoFollow}). */
  SortedWalk(Path root, String prefix, NoFollow noFollow) throws StorageException {
    this.prefix = prefix;
    this.noFollow = noFollow;
    int slash = prefix.lastIndexOf('/');
    String dirKey = prefix.substring(0, slash + 1);
    String namePrefix = prefix.substring(slash + 1);
    if (dirKey.isEmpty()) {
      stack.push(read(root, dirKey, namePrefix));
    } else if (noFollow.isDirectory("list", prefix, dirKey)) {
      stack.push(read(root.resolve(dirKey), dirKey, namePrefix));
    }
  }

  @Override
  public boolean hasNext() {
    while (next == null && !stack.isEmpty()) {
      Iterator<Entry> top = stack.peek();
      if (!top.hasNext()) {
        stack.pop();
        continue;
      }
      Entry e = top.next();
      if (e.directory()) {
        stack.push(read(e.path(), e.key() + "/", ""));
      } else {
        next = e.key();
      }
    }
    return next != null;
  }

  @Override
  public String next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    String k = next;
    next = null;
    return k;
  }

  /**
   * One directory's entries, each looked at without following links: a link (to anything,
   * dangling too) stops the listing with the "unsafe repository" refusal; FIFOs, sockets and
   * devices are not objects and are skipped.
   */
  private Iterator<Entry> read(Path dir, String dirKey, String namePrefix) {
    List<Entry> entries = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        if (name.startsWith(".") || !name.startsWith(namePrefix)) {
          continue;
        }
        BasicFileAttributes a;
        try {
          a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
          continue; // removed while we listed
        }
        if (a.isSymbolicLink()) {
          throw new UncheckedIOException(noFollow.linkRefused("list", prefix, p));
        }
        boolean directory = a.isDirectory();
        if (!directory && !a.isRegularFile()) {
          continue;
        }
        entries.add(new Entry(directory ? name + "/" : name, dirKey + name, p, directory));
      }
    } catch (NoSuchFileException e) {
      return List.<Entry>of().iterator(); // removed while we walked: nothing under it any more
    } catch (IOException e) {
      throw new UncheckedIOException(new StorageException(
          "list: cannot read directory " + dir + ": " + e + "; check its permissions", e));
    }
    entries.sort(Comparator.comparing(Entry::sortKey));
    return entries.iterator();
  }
}
