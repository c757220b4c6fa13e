package io.pgsidecar.agent.wal.fetch;

import java.lang.System.Logger.Level;
import io.pgsidecar.agent.storage.StallGuard;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.io.InputStream;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keeps the next segments of a recovery on local disk ({@code wal.spool-dir}) so that
 * restore_command, which asks for one segment at a time, is answered without a storage round
 * trip. After segment N is served, N+1 .. N+{@code wal.prefetch-count} are downloaded, decoded and
 * verified against their recorded SHA-256 into {@code <spoolDir>/<cluster>/<name>}. The spool is
 * bounded by {@code wal.spool-max-size} (a segment that would exceed it is not prefetched) and
 * cleaned as it is served: a file is deleted once handed out, and files for segments at or before
 * the last one served are dropped. A failed prefetch is logged at WARNING naming the segment and
 * the cause, and otherwise ignored: the foreground fetch goes to storage and reports the real
 * error. Only the first failure of a run of failures warns (a storage outage or a spool too small
 * would otherwise warn for every segment of a replay); the rest go to FINE until a prefetch
 * succeeds again, which is logged with their count. Misses that are no failure (not in the
 * archive yet, no room under wal.spool-max-size, the spool closing) stay at FINE: at the end of
 * the archive PostgreSQL asks for the next segment again and again.
 *
 * <p>Spool files are fsynced before they count as spooled, so that one can also be handed off
 * ({@link #handOff}): wal-archiver links it into {@code pg_wal} instead of receiving 16 MiB over
 * the socket and writing and fsyncing them while recovery waits (what pgBackRest's async
 * archive-get does with its spool queue). That needs the spool on the same file system as pg_wal
 * and writable by the server's user; otherwise the link fails and wal-archiver asks again for the
 * bytes, which are then streamed from the same spool file. The agent removes its own link of a
 * handed-off file later (at the next segment served, or when asked again for the same file).
 */
public final class PrefetchSpool {

  private static final System.Logger LOG = System.getLogger(PrefetchSpool.class.getName());

  /** A verified, fsynced spool file; {@code modified} to notice a file changed since. */
  record Entry(Path file, String sha256, long size, java.nio.file.attribute.FileTime modified) {}

  private final Path dir;
  private final long maxBytes;
  private final int count;
  private final Duration waitForInFlight;
  private final Semaphore downloads;
  private final AtomicLong used = new AtomicLong();
  /** Failed prefetches since the last one that succeeded. */
  private final AtomicInteger failures = new AtomicInteger();
  private final Map<String, CompletableFuture<Optional<Entry>>> entries = new ConcurrentHashMap<>();
  /** Spool files handed off to wal-archiver, whose link the agent removes later. */
  private final Map<String, Entry> handedOff = new ConcurrentHashMap<>();
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

  /**
   * The spooled copy of {@code name}, waiting briefly for a download under way; removes it. Also
   * serves a file handed off earlier whose link failed on the client's side.
   */
  Optional<Source> take(RepositoryLayout from, WalFileName name) {
    Entry given = handedOff.remove(SpoolFiles.key(from, name));
    Optional<Entry> e = given != null ? Optional.of(given) : claim(from, name);
    if (e.isEmpty()) {
      return Optional.empty();
    }
    Entry entry = e.get();
    if (!unchanged(entry)) {
      discard(entry);
      return Optional.empty();
    }
    try {
      InputStream in = Files.newInputStream(entry.file());
      return Optional.of(new Source(name.name(), "spool:" + entry.file(), entry.sha256(), entry.size(),
          0, in, () -> discard(entry)));
    } catch (IOException ex) {
      discard(entry);
      return Optional.empty();
    }
  }

  /**
   * Hands the spooled, verified and fsynced file of {@code name} to the caller, who links it
   * into place; empty when it is not spooled (or changed since it was verified). The agent keeps
   * its own link until the next segment is served.
   */
  Optional<Entry> handOff(RepositoryLayout from, WalFileName name) {
    Optional<Entry> e = claim(from, name);
    if (e.isEmpty()) {
      return e;
    }
    if (!unchanged(e.get())) {
      discard(e.get());
      return Optional.empty();
    }
    handedOff.put(SpoolFiles.key(from, name), e.get());
    return e;
  }

  /** Removes the entry of {@code name}, waiting briefly for a download under way. */
  private Optional<Entry> claim(RepositoryLayout from, WalFileName name) {
    CompletableFuture<Optional<Entry>> f = entries.remove(SpoolFiles.key(from, name));
    if (f == null) {
      return Optional.empty();
    }
    try {
      return f.get(waitForInFlight.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception ex) {
      f.thenAccept(late -> late.ifPresent(this::discard));
      return Optional.empty();
    }
  }

  /** The file still has the size and modification time it had when it was verified. */
  private static boolean unchanged(Entry e) {
    try {
      return Files.size(e.file()) == e.size()
          && Files.getLastModifiedTime(e.file()).equals(e.modified());
    } catch (IOException ex) {
      return false;
    }
  }

  /** Schedules N+1 .. N+count after {@code served}, and drops spool files at or before it. */
  void prefetchAfter(RepositoryLayout from, WalFileName served) {
    if (count == 0 || closed || fetcher == null) {
      return;
    }
    // spooled files at or before it will not be asked for; handed-off files before it were
    // linked by wal-archiver (or streamed instead); the one just handed off is linked after
    // this answer, so it stays
    entries.entrySet().removeIf(en -> {
      boolean stale = SpoolFiles.before(en.getKey(), from, served, true);
      if (stale) {
        en.getValue().thenAccept(late -> late.ifPresent(this::discard));
      }
      return stale;
    });
    handedOff.entrySet().removeIf(en -> {
      boolean stale = SpoolFiles.before(en.getKey(), from, served, false);
      if (stale) {
        discard(en.getValue());
      }
      return stale;
    });
    WalFileName next = served;
    for (int i = 0; i < count; i++) {
      next = next.next();
      String k = SpoolFiles.key(from, next);
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
        LOG.log(Level.DEBUG, () -> "prefetch of " + name + ": not in the archive (yet)");
        return Optional.empty();
      }
      try (Source s = src.get()) {
        long size = s.size() < 0 ? 16L * 1024 * 1024 : s.size();
        if (used.addAndGet(size) > maxBytes) {
          used.addAndGet(-size);
          LOG.log(Level.DEBUG, () -> "prefetch of " + name + " declined: the spool holds " + used.get()
              + " bytes of wal.spool-max-size " + maxBytes);
          return Optional.empty();
        }
        reserved = size;
        Path clusterDir = Files.createDirectories(dir.resolve(from.cluster()));
        tmp = Files.createTempFile(clusterDir, name.name(), ".tmp");
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        long n;
        try (StallGuard stall = StallGuard.watch(s.plain(), waitForInFlight, "prefetching " + s.origin())) {
          n = SpoolFiles.copy(s.plain(), tmp, md, stall);
        }
        String sha = HexFormat.of().formatHex(md.digest());
        if (!sha.equals(s.sha256()) || (s.size() >= 0 && n != s.size())) {
          failed(name, "got " + n + " bytes with SHA-256 " + sha + " from " + s.origin()
              + ", but the archive recorded " + s.size() + " bytes with SHA-256 " + s.sha256());
          return Optional.empty();
        }
        Path file = clusterDir.resolve(name.name());
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        tmp = null;
        if (n != reserved) {
          used.addAndGet(n - reserved);
        }
        reserved = 0;
        int streak = failures.getAndSet(0);
        if (streak > 0) {
          LOG.log(Level.INFO, "prefetch of " + name + " succeeded after " + streak + " failed prefetch"
              + (streak == 1 ? "" : "es") + " (see the WARNING before them)");
        }
        return Optional.of(new Entry(file, sha, n, Files.getLastModifiedTime(file)));
      }
    } catch (IOException | RuntimeException | NoSuchAlgorithmException e) {
      if (closed) {
        LOG.log(Level.DEBUG, "prefetch of " + name + " stopped: the spool is closing", e);
      } else {
        failed(name, cause(e));
        LOG.log(Level.DEBUG, "prefetch of " + name + " failed", e);
      }
      return Optional.empty();
    } finally {
      if (tmp != null) {
        SpoolFiles.deleteQuietly(tmp);
      }
      if (reserved > 0) {
        used.addAndGet(-reserved);
      }
      downloads.release();
    }
  }

  /** Logs a failed prefetch: WARNING for the first of a run of failures, FINE for the rest. */
  private void failed(WalFileName name, String cause) {
    boolean first = failures.getAndIncrement() == 0;
    LOG.log(first ? Level.WARNING : Level.DEBUG, "prefetch of " + name + " failed: " + cause
        + "; not spooled, restore_command will fetch it from storage when PostgreSQL asks for it"
        + (first ? " (further prefetch failures are logged at FINE until one succeeds)" : ""));
  }

  /** The message of {@code e} (which names the object), or its type when it has none. */
  private static String cause(Throwable e) {
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getName() : m;
  }

  private void discard(Entry e) {
    if (SpoolFiles.deleteQuietly(e.file())) {
      used.addAndGet(-e.size());
    }
  }

  /** Removes spool files left by an earlier run (only WAL file names and our temp files). */
  public void cleanAtStart() throws IOException {
    SpoolFiles.clean(dir);
  }

  /** Stops prefetching and deletes what is spooled. */
  public void close() {
    closed = true;
    entries.values().forEach(f -> f.thenAccept(late -> late.ifPresent(this::discard)));
    entries.clear();
    handedOff.values().forEach(this::discard);
    handedOff.clear();
  }
}
