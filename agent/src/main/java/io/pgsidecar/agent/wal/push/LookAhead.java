package io.pgsidecar.agent.wal.push;

import java.lang.System.Logger.Level;
import io.pgsidecar.agent.wal.archive.WalEvents;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Uploads segments PostgreSQL has marked {@code .ready} before it asks for them, so that most
 * archive_command calls are answered from memory. PostgreSQL archives one file at a time; this
 * keeps up to {@code wal.lookahead-concurrency} uploads running and at most
 * {@code wal.lookahead-max} scheduled.
 *
 * <p>Also the registry of uploads: which names are being uploaded (by a push or by the
 * look-ahead) and which the look-ahead has made durable but PostgreSQL has not asked for yet.
 * Objects are immutable, so "durable with SHA-256 X" stays true and a later push of that name is
 * answered at once.
 *
 * <p>Rules: only segments (timeline history files, partial segments and backup history files are
 * rare and pushed in the foreground); only names PostgreSQL produces (timeline 1 or later), read
 * only through {@link PgWalFile} (a regular file directly in pg_wal, no link followed): anything
 * else named in archive_status is refused once, logged and counted, and never read; never writes
 * into {@code archive_status} (PostgreSQL owns it); stops scheduling after the first error, because a storage that fails for one upload fails
 * for the next, and PostgreSQL's own push will report the cause. A successful push re-arms it.
 */
public final class LookAhead {

  private static final System.Logger LOG = System.getLogger(LookAhead.class.getName());

  private final Path pgWal;
  private final SegmentUploader uploader;
  private final int max;
  private final Semaphore slots;
  private final Map<String, CompletableFuture<Stored>> running = new ConcurrentHashMap<>();
  private final Map<String, Stored> durable = new ConcurrentHashMap<>();
  /** Scheduled look-ahead uploads that have not started; a push may take them over. */
  private final Map<String, CompletableFuture<Stored>> waiting = new ConcurrentHashMap<>();
  private final AtomicInteger scheduled = new AtomicInteger();
  /**
   * Names PostgreSQL was recently told are archived. A scan that listed archive_status just
   * before PostgreSQL renamed such a file to {@code .done} must not upload it again.
   */
  private final Set<String> answered = java.util.Collections.newSetFromMap(
      new java.util.LinkedHashMap<String, Boolean>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > 1024;
        }
      });
  /** Names refused once (logged and counted), not looked at again while they stay .ready. */
  private final Set<String> refused = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean scanning = new AtomicBoolean();
  private volatile boolean stoppedByError;
  private volatile boolean closed;

  private final WalEvents events;

  public LookAhead(Path pgWal, SegmentUploader uploader, int concurrency, int max, WalEvents events) {
    this.events = events;
    this.pgWal = pgWal;
    this.uploader = uploader;
    this.max = Math.max(0, max);
    // fair: slots go to uploads in the order they were scheduled, which is the order
    // PostgreSQL will ask for them
    this.slots = new Semaphore(Math.max(1, concurrency), true);
  }

  /** The stored result for {@code name} if the look-ahead made it durable; forgets it. */
  Optional<Stored> claim(String name) {
    return Optional.ofNullable(durable.remove(name));
  }

  /** Uploads in progress by name, shared by pushes and the look-ahead so no name runs twice. */
  Map<String, CompletableFuture<Stored>> running() {
    return running;
  }

  /**
   * Cancels the look-ahead upload of {@code name} if it is still waiting for a slot, so that the
   * push PostgreSQL is blocked on uploads it at once instead of queueing behind later segments.
   */
  boolean takeOver(String name) {
    CompletableFuture<Stored> f = waiting.remove(name);
    if (f == null) {
      return false;
    }
    running.remove(name, f);
    f.completeExceptionally(new CancellationException("taken over by the push of " + name));
    return true;
  }

  /**
   * A push refused {@code name} and reported it: the look-ahead leaves it alone while it stays
   * {@code .ready}, so one refused push is one refusal in the log and the metrics.
   */
  void refusedByPush(String name) {
    refused.add(name);
  }

  /** A push stored a file: the storage works again, so look-ahead may resume. */
  void pushSucceeded() {
    stoppedByError = false;
  }

  /** PostgreSQL is being told that {@code name} is archived. */
  void answered(String name) {
    synchronized (answered) {
      answered.add(name);
    }
  }

  private boolean wasAnswered(String name) {
    synchronized (answered) {
      return answered.contains(name);
    }
  }

  /** Starts one scan of archive_status in the background unless one is under way. */
  void trigger() {
    if (max == 0 || closed || stoppedByError || !scanning.compareAndSet(false, true)) {
      return;
    }
    Thread.ofVirtual().name("wal-lookahead-scan").start(() -> {
      try {
        scan();
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.WARNING, "look-ahead could not list " + pgWal.resolve("archive_status") + ": " + e, e);
      } finally {
        scanning.set(false);
      }
    });
  }

  /** Stops scheduling; uploads under way finish or are abandoned, never acknowledged early. */
  void close() {
    closed = true;
  }

  private void scan() throws IOException {
    List<String> ready = readySegments();
    events.readyPending(ready.size());
    Set<String> readySet = new HashSet<>(ready);
    // a name PostgreSQL no longer lists as .ready was archived (.done): forget it
    durable.keySet().retainAll(readySet);
    refused.retainAll(readySet);
    for (String name : ready) {
      if (closed || stoppedByError || scheduled.get() >= max) {
        return;
      }
      if (durable.containsKey(name) || running.containsKey(name) || wasAnswered(name)
          || refused.contains(name)) {
        continue;
      }
      CompletableFuture<Stored> f = new CompletableFuture<>();
      if (running.putIfAbsent(name, f) != null) {
        continue;
      }
      scheduled.incrementAndGet();
      waiting.put(name, f);
      Thread.ofVirtual().name("wal-lookahead-" + name).start(() -> uploadAhead(name, f));
    }
  }

  private List<String> readySegments() throws IOException {
    List<String> names = new ArrayList<>();
    Path status = pgWal.resolve("archive_status");
    if (!Files.isDirectory(status)) {
      return names;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(status, "*.ready")) {
      for (Path p : ds) {
        String f = p.getFileName().toString();
        String name = f.substring(0, f.length() - ".ready".length());
        WalFileName parsed;
        try {
          parsed = WalFileName.parse(name);
        } catch (IllegalArgumentException e) {
          names.add(name); // kept in the set so that the refusal is reported once, not every scan
          if (refused.add(name)) {
            refuse(name, "archive_status holds " + f + " but " + e.getMessage()
                + "; the look-ahead never reads pg_wal/" + name + ". Remove " + p);
          }
          continue;
        }
        if (parsed.isSegment()) {
          names.add(name);
        }
      }
    }
    names.sort(null);
    return names;
  }

  private void uploadAhead(String name, CompletableFuture<Stored> f) {
    try {
      slots.acquire();
    } catch (InterruptedException e) {
      waiting.remove(name, f);
      giveUp(name, f, new CancellationException("interrupted"));
      scheduled.decrementAndGet();
      return;
    }
    try {
      if (!waiting.remove(name, f)) {
        return; // a push took it over
      }
      if (closed || stoppedByError) {
        giveUp(name, f, new CancellationException("look-ahead stopped"));
        return;
      }
      Stored s = uploader.upload(WalFileName.parse(name), pgWal);
      durable.put(name, s);
      running.remove(name, f);
      f.complete(s);
    } catch (Throwable t) {
      if (PgWalFile.isRefusal(t)) {
        // not a storage failure: other segments can still go ahead
        refused.add(name);
        refuse(name, t.getMessage());
        giveUp(name, f, t);
        return;
      }
      stoppedByError = true;
      LOG.log(Level.WARNING, "look-ahead upload of " + name + " failed; no more look-ahead"
          + " until a push succeeds (PostgreSQL's own push will retry it): " + t.getMessage());
      giveUp(name, f, t);
    } finally {
      slots.release();
      scheduled.decrementAndGet();
    }
  }

  private void refuse(String name, String reason) {
    LOG.log(Level.WARNING, "look-ahead: " + reason);
    events.refused("pg_wal/" + name, reason);
  }

  private void giveUp(String name, CompletableFuture<Stored> f, Throwable t) {
    running.remove(name, f);
    f.completeExceptionally(t);
  }
}
