package io.pgsidecar.core.storage.fs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * driver's temp files and sidecars) are skipped.
 */
final class SortedWalk implements Iterator<String> {

  private record Entry(String sortKey, String key, Path path, boolean directory) {}

  private final Deque<Iterator<Entry>> stack = new ArrayDeque<>();
  private String next;

  SortedWalk(Path root, String prefix) {
    int slash = prefix.lastIndexOf('/');
    String dirKey = prefix.substring(0, slash + 1);
    String namePrefix = prefix.substring(slash + 1);
    Path dir = dirKey.isEmpty() ? root : root.resolve(dirKey);
    if (Files.isDirectory(dir)) {
      stack.push(read(dir, dirKey, namePrefix));
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

  private static Iterator<Entry> read(Path dir, String dirKey, String namePrefix) {
    List<Entry> entries = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        if (name.startsWith(".") || !name.startsWith(namePrefix)) {
          continue;
        }
        boolean directory = Files.isDirectory(p);
        if (!directory && !Files.isRegularFile(p)) {
          continue;
        }
        entries.add(new Entry(directory ? name + "/" : name, dirKey + name, p, directory));
      }
    } catch (java.nio.file.NoSuchFileException e) {
      return List.<Entry>of().iterator(); // removed while we walked: nothing under it any more
    } catch (IOException e) {
      throw new UncheckedIOException(new io.pgsidecar.core.storage.StorageException(
          "list: cannot read directory " + dir + ": " + e + "; check its permissions", e));
    }
    entries.sort(Comparator.comparing(Entry::sortKey));
    return entries.iterator();
  }
}
