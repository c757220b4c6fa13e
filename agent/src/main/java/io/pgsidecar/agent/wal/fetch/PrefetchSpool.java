package io.pgsidecar.agent.wal.fetch;

import io.pgsidecar.agent.storage.StallGuard;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Keeps the next segments of a recovery on local disk ({@code wal.spoolDir}) so that
 * restore_command, which asks for one segment at a time, is answered without a storage round
 * trip. After segment N is served, N+1 .. N+{@code wal.prefetchCount} are downloaded, decoded and
 * verified against their recorded SHA-256 into {@code <spoolDir>/<cluster>/<name>}. The spool is
 * bounded by {@code wal.spoolMaxBytes} (a segment that would exceed it is not prefetched) and
 * cleaned as it is served: a file is deleted once handed out, and files for segments at or before
 * the last one served are dropped. Prefetch failures are only logged: the foreground fetch goes
 * to storage and reports the real error.
 */
public final class PrefetchSpool {

  private static final Logger LOG = Logger.getLogger(PrefetchSpool.class.getName());

  /** A verified spool file. */
  record Entry(Path file, String sha256, long size) {}

  private final Path dir;
  private final long maxBytes;
  private final int count;
  private final Duration waitForInFlight;
  private final Semaphore downloads;
  private final AtomicLong used = new AtomicLong();
  private final Map<String, CompletableFuture<Optional<Entry>>> entries = new ConcurrentHashMap<>();
  private volatile WalFetchService fetcher;
  private volatile boolean closed;

  public PrefetchSpool(Path dir, long maxBytes, int count, Duration waitForInFlight) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.count = Math.max(0, count);
    this.waitForInFlight = waitForInFlight;
    this.downloads = new Semaphore(Math.max(1, Math.min(4, this.count)));
  }

  /** Wires the service that reads from storage (the two refer to each other). */
  void attach(WalFetchService service) {
    this.fetcher = service;
  }

  /** The spooled copy of {@code name}, waiting briefly for a download under way; removes it. */
  Optional<Source> take(RepositoryLayout from, WalFileName name) {
    CompletableFuture<Optional<Entry>> f = entries.remove(key(from, name));
    if (f == null) {
      return Optional.empty();
    }
    Optional<Entry> e;
    try {
      e = f.get(waitForInFlight.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception ex) {
      f.thenAccept(late -> late.ifPresent(this::discard));
      return Optional.empty();
    }
    if (e.isEmpty()) {
      return Optional.empty();
    }
    Entry entry = e.get();
    try {
      InputStream in = Files.newInputStream(entry.file());
      return Optional.of(new Source(name.name(), "spool:" + entry.file(), entry.sha256(), entry.size(),
          0, in, () -> discard(entry)));
    } catch (IOException ex) {
      discard(entry);
      return Optional.empty();
    }
  }

  /** Schedules N+1 .. N+count after {@code served}, and drops spool files at or before it. */
  void prefetchAfter(RepositoryLayout from, WalFileName served) {
    if (count == 0 || closed || fetcher == null) {
      return;
    }
    String prefix = from.root() + "|";
    entries.entrySet().removeIf(en -> {
      boolean stale = en.getKey().startsWith(prefix)
          && en.getKey().substring(prefix.length()).compareTo(served.name()) <= 0;
      if (stale) {
        en.getValue().thenAccept(late -> late.ifPresent(this::discard));
      }
      return stale;
    });
    WalFileName next = served;
    for (int i = 0; i < count; i++) {
      next = next.next();
      String k = key(from, next);
      CompletableFuture<Optional<Entry>> f = new CompletableFuture<>();
      if (entries.putIfAbsent(k, f) == null) {
        WalFileName target = next;
        // a platform thread: decompressing and hashing 16 MiB would pin a virtual thread's
        // carrier and hold up the requests of PostgreSQL's restore_command (see Retry)
        Thread.ofPlatform().daemon().name("wal-prefetch-" + target)
            .start(() -> f.complete(download(from, target)));
      }
    }
  }

  private Optional<Entry> download(RepositoryLayout from, WalFileName name) {
    try {
      downloads.acquire();
    } catch (InterruptedException e) {
      return Optional.empty();
    }
    Path tmp = null;
    long reserved = 0;
    try {
      Optional<Source> src = fetcher.openStored(from, name);
      if (src.isEmpty()) {
        return Optional.empty();
      }
      try (Source s = src.get()) {
        long size = s.size() < 0 ? 16L * 1024 * 1024 : s.size();
        if (used.addAndGet(size) > maxBytes) {
          used.addAndGet(-size);
          return Optional.empty();
        }
        reserved = size;
        Path clusterDir = Files.createDirectories(dir.resolve(from.cluster()));
        tmp = Files.createTempFile(clusterDir, name.name(), ".tmp");
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        long n;
        try (StallGuard stall = StallGuard.watch(s.plain(), waitForInFlight, "prefetching " + s.origin())) {
          n = copy(s.plain(), tmp, md, stall);
        }
        String sha = HexFormat.of().formatHex(md.digest());
        if (!sha.equals(s.sha256()) || (s.size() >= 0 && n != s.size())) {
          LOG.warning("prefetch of " + s.origin() + " got " + n + " bytes with SHA-256 " + sha
              + ", but the archive recorded " + s.size() + " bytes with SHA-256 " + s.sha256()
              + "; not spooled (the foreground fetch will report it)");
          return Optional.empty();
        }
        Path file = clusterDir.resolve(name.name());
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        tmp = null;
        if (n != reserved) {
          used.addAndGet(n - reserved);
        }
        reserved = 0;
        return Optional.of(new Entry(file, sha, n));
      }
    } catch (IOException | RuntimeException | NoSuchAlgorithmException e) {
      LOG.log(Level.FINE, "prefetch of " + name + " failed: " + e, e);
      return Optional.empty();
    } finally {
      if (tmp != null) {
        deleteQuietly(tmp);
      }
      if (reserved > 0) {
        used.addAndGet(-reserved);
      }
      downloads.release();
    }
  }

  private static long copy(InputStream in, Path to, MessageDigest md, StallGuard stall)
      throws IOException {
    long n = 0;
    byte[] buf = new byte[64 * 1024];
    try (OutputStream out = Files.newOutputStream(to)) {
      int k;
      while ((k = in.read(buf)) > 0) {
        stall.progress();
        md.update(buf, 0, k);
        out.write(buf, 0, k);
        n += k;
      }
    }
    return n;
  }

  private void discard(Entry e) {
    if (deleteQuietly(e.file())) {
      used.addAndGet(-e.size());
    }
  }

  /** Bytes held by spool files now. */
  public long usedBytes() {
    return used.get();
  }

  /** Removes spool files left by an earlier run (only WAL file names and our temp files). */
  public void cleanAtStart() throws IOException {
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

  /** Stops prefetching and deletes what is spooled. */
  public void close() {
    closed = true;
    entries.values().forEach(f -> f.thenAccept(late -> late.ifPresent(this::discard)));
    entries.clear();
  }

  private static String key(RepositoryLayout from, WalFileName name) {
    return from.root() + "|" + name.name();
  }

  private static boolean deleteQuietly(Path p) {
    try {
      return Files.deleteIfExists(p);
    } catch (IOException e) {
      return false;
    }
  }
}
