package io.pgsidecar.agent.wal.fetch;

import io.pgsidecar.agent.storage.StallGuard;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;

/** The files and keys of the {@link PrefetchSpool}: one folder per archive, WAL file names. */
final class SpoolFiles {

  private SpoolFiles() {}

  static long copy(InputStream in, Path to, MessageDigest md, StallGuard stall)
      throws IOException {
    long n = 0;
    byte[] buf = new byte[64 * 1024];
    try (FileChannel ch = FileChannel.open(to, StandardOpenOption.WRITE);
        OutputStream out = Channels.newOutputStream(ch)) {
      int k;
      while ((k = in.read(buf)) > 0) {
        stall.progress();
        md.update(buf, 0, k);
        out.write(buf, 0, k);
        n += k;
      }
      // durable before it counts as spooled: a handed-off file is linked into pg_wal as it is
      ch.force(true);
    }
    return n;
  }

  /** Removes spool files left by an earlier run (only WAL file names and our temp files). */
  static void clean(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> clusters = Files.newDirectoryStream(dir, Files::isDirectory)) {
      for (Path c : clusters) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(c)) {
          for (Path f : files) {
            String n = f.getFileName().toString();
            if (WalFileName.isValid(n) || n.endsWith(".tmp")) {
              deleteQuietly(f);
            }
          }
        }
      }
    }
  }

  /** Whether the spool key {@code key} is of {@code from}'s archive and before {@code served}. */
  static boolean before(String key, RepositoryLayout from, WalFileName served, boolean orAt) {
    String prefix = from.root() + "|";
    if (!key.startsWith(prefix)) {
      return false;
    }
    int c = key.substring(prefix.length()).compareTo(served.name());
    return c < 0 || (orAt && c == 0);
  }

  static String key(RepositoryLayout from, WalFileName name) {
    return from.root() + "|" + name.name();
  }

  static boolean deleteQuietly(Path p) {
    try {
      return Files.deleteIfExists(p);
    } catch (IOException e) {
      return false;
    }
  }
}
