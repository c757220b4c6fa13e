package io.pgsidecar.agent.backup;

import io.pgsidecar.core.repo.BackupManifest;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/** Handle on a base backup that has started: its id, live progress, and the final outcome. */
public final class RunningBackup {

  /** Phases in order; a backup that fails stops in the phase it was in. */
  public enum Phase { CHECKING_SERVER, STREAMING, WAITING_FOR_WAL, WRITING_MANIFEST }

  /** A snapshot of progress for status documents and log lines. */
  public record Progress(String id, String label, Instant startedAt, Phase phase, long rawBytes,
      long storedBytes) {
    Map<String, Object> toMap() {
      var m = new LinkedHashMap<String, Object>();
      m.put("id", id);
      m.put("label", label);
      m.put("state", "running");
      m.put("phase", phase.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
      m.put("startedAt", startedAt.toString());
      m.put("rawBytes", rawBytes);
      m.put("storedBytes", storedBytes);
      return m;
    }
  }

  private final String id;
  private final String label;
  private final Instant startedAt;
  final AtomicLong rawBytes = new AtomicLong();
  final AtomicLong storedBytes = new AtomicLong();
  volatile Phase phase = Phase.CHECKING_SERVER;
  volatile boolean cancelled;
  volatile Process process;
  final CompletableFuture<BackupManifest> result = new CompletableFuture<>();

  RunningBackup(String id, String label, Instant startedAt) {
    this.id = id;
    this.label = label;
    this.startedAt = startedAt;
  }

  public String id() {
    return id;
  }

  public String label() {
    return label;
  }

  public Instant startedAt() {
    return startedAt;
  }

  public Progress progress() {
    return new Progress(id, label, startedAt, phase, rawBytes.get(), storedBytes.get());
  }

  /** Completes with the manifest, or exceptionally with the reason the backup failed. */
  public CompletableFuture<BackupManifest> result() {
    return result.copy();
  }

  /** Stops pg_basebackup; the backup then fails with "cancelled" and nothing is listed. */
  public void cancel() {
    cancelled = true;
    Process p = process;
    if (p != null) {
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
    }
  }

  /** Logs progress every {@code interval} until interrupted (the backup ended). */
  void logProgress(java.time.Duration interval) {
    long lastBytes = 0;
    long lastNanos = System.nanoTime();
    try {
      while (true) {
        Thread.sleep(interval);
        long bytes = rawBytes.get();
        long now = System.nanoTime();
        double mibPerSec = (bytes - lastBytes) / 1048576.0 / Math.max(1e-9, (now - lastNanos) / 1e9);
        System.getLogger(BackupRun.class.getName()).log(System.Logger.Level.INFO, String.format(
            "base backup %s: %s, %.1f MiB read, %.1f MiB stored, %.1f MiB/s", id,
            phase.name().toLowerCase(java.util.Locale.ROOT), bytes / 1048576.0,
            storedBytes.get() / 1048576.0, mibPerSec));
        lastBytes = bytes;
        lastNanos = now;
      }
    } catch (InterruptedException e) {
      // the backup ended
    }
  }
}
