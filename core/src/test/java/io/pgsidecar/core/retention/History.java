package io.pgsidecar.core.retention;

import io.pgsidecar.core.wal.TimelineHistory;
import io.pgsidecar.core.repo.BackupIds;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.retention.RepositoryListing.BackupEntry;
import io.pgsidecar.core.retention.RepositoryListing.BackupPoint;
import io.pgsidecar.core.retention.RepositoryListing.DumpEntry;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.wal.Lsn;
import io.pgsidecar.core.wal.WalFileName;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A simulated cluster history for the retention tests: replays a list of events (WAL archived,
 * base backups, dumps, timeline switches, time passing) into the objects a repository would hold,
 * and knows, independently of the planner, which moments a set of stored objects can restore.
 * Events that do not apply are skipped, so any sub-list of events is a history too (shrinking).
 */
final class History {

  static final RepositoryLayout LAYOUT = new RepositoryLayout("", "db1");
  static final long SEG = WalFileName.SEGMENT_SIZE;

  /** Something that happens to the cluster. */
  sealed interface Event permits Wal, Backup, Dump, Fork, Clock {}

  /** {@code minutes} later the next segment of the live timeline is archived. */
  record Wal(int minutes) implements Event {}

  /** A base backup spanning {@code segments} more segments; unfinished ones never get backup.json. */
  record Backup(int segments, boolean complete, boolean permanent) implements Event {}

  record Dump(boolean complete, boolean permanent) implements Event {}

  /** A new timeline: a promotion here ({@code back} 0) or a restore to {@code back} segments ago. */
  record Fork(int back) implements Event {}

  record Clock(int hours) implements Event {}

  /** A simulated backup. */
  record SimBackup(String id, long timeline, long startPos, long stopPos, Instant stopTime,
      boolean complete, boolean permanent) {}

  /** A timeline: its parent and the position where it forked (its first own segment). */
  record Timeline(long number, long parent, long forkPos) {}

  final Instant start;
  Instant time;
  long live = 1;
  long nextPos = 3;
  final Map<Long, Timeline> timelines = new LinkedHashMap<>();
  /** Archived segments: "tl/pos" -> stored at. */
  final Map<String, Instant> segments = new LinkedHashMap<>();
  final List<SimBackup> backups = new ArrayList<>();
  final List<DumpEntry> dumps = new ArrayList<>();
  final List<ObjectInfo> wal = new ArrayList<>();
  final Map<Long, TimelineHistory> histories = new HashMap<>();
  final Map<String, List<ObjectInfo>> backupObjects = new HashMap<>();

  History(Instant start, List<Event> events) {
    this.start = start;
    this.time = start;
    timelines.put(1L, new Timeline(1, 0, 0));
    for (Event e : events) {
      apply(e);
    }
  }

  private void apply(Event e) {
    switch (e) {
      case Wal w -> {
        time = time.plus(Duration.ofMinutes(w.minutes()));
        archive();
      }
      case Backup b -> {
        time = time.plusSeconds(30);
        String id = id(backupObjects.keySet());
        long startPos = nextPos;
        for (int i = 0; i <= b.segments(); i++) {
          time = time.plus(Duration.ofMinutes(2));
          archive();
        }
        long stopPos = nextPos - 1;
        SimBackup sb = new SimBackup(id, live, startPos, stopPos, time, b.complete(), b.permanent());
        backups.add(sb);
        List<ObjectInfo> objects = new ArrayList<>();
        objects.add(object(LAYOUT.baseData(id, ".zst"), 1000, time));
        if (b.complete()) {
          objects.add(object(LAYOUT.baseManifest(id), 10, time));
        }
        if (b.permanent() && b.complete()) {
          objects.add(object(LAYOUT.baseKeepMark(id), 5, time));
        }
        backupObjects.put(id, objects);
      }
      case Dump d -> {
        time = time.plus(Duration.ofMinutes(1));
        Set<String> taken = new HashSet<>();
        dumps.forEach(x -> taken.add(x.id()));
        String id = id(taken);
        List<ObjectInfo> objects = new ArrayList<>();
        objects.add(object(LAYOUT.dumpDatabase(id, "app", ".zst"), 500, time));
        if (d.complete()) {
          objects.add(object(LAYOUT.dumpManifest(id), 10, time));
        }
        if (d.permanent() && d.complete()) {
          objects.add(object(LAYOUT.dumpKeepMark(id), 5, time));
        }
        dumps.add(new DumpEntry(id, d.complete() ? java.util.Optional.of(time) : java.util.Optional.empty(),
            d.permanent() && d.complete(), objects));
      }
      case Fork f -> {
        time = time.plus(Duration.ofMinutes(10));
        long fork = Math.max(timelines.get(live).forkPos(), nextPos - f.back());
        long number = timelines.size() + 1;
        timelines.put(number, new Timeline(number, live, fork));
        List<TimelineHistory.Switch> chain = new ArrayList<>();
        for (Timeline t = timelines.get(number); t.parent() != 0; t = timelines.get(t.parent())) {
          chain.add(0, new TimelineHistory.Switch(t.parent(), new Lsn(t.forkPos() * SEG + 8)));
        }
        histories.put(number, new TimelineHistory(number, chain));
        wal.add(object(LAYOUT.walKey(String.format("%08X.history", number), ".zst"), 40, time));
        live = number;
        nextPos = fork;
      }
      case Clock c -> time = time.plus(Duration.ofHours(c.hours()));
    }
  }

  private String id(Set<String> taken) {
    try {
      return BackupIds.next(time, taken::contains);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void archive() {
    WalFileName n = name(live, nextPos);
    segments.put(live + "/" + nextPos, time);
    wal.add(object(LAYOUT.walKey(n.name(), ".zst"), 100, time));
    nextPos++;
  }

  static WalFileName name(long tl, long pos) {
    return WalFileName.segment(tl, pos / WalFileName.SEGMENTS_PER_LOG, pos % WalFileName.SEGMENTS_PER_LOG);
  }

  private static ObjectInfo object(String key, long size, Instant at) {
    return new ObjectInfo(key, size, at, new ObjectMetadata("", size, "zstd", ""));
  }

  /** The listing of the objects in {@code present} (all of them when null). */
  RepositoryListing listing(Set<String> present, boolean historiesReadable) {
    List<BackupEntry> b = new ArrayList<>();
    for (SimBackup s : backups) {
      List<ObjectInfo> objects = backupObjects.get(s.id()).stream().filter(o -> has(present, o)).toList();
      if (objects.isEmpty()) {
        continue;
      }
      boolean complete = objects.stream().anyMatch(o -> o.key().endsWith("/backup.json"));
      boolean permanent = objects.stream().anyMatch(o -> o.key().endsWith("/keep.json"));
      b.add(new BackupEntry(s.id(), complete ? java.util.Optional.of(point(s)) : java.util.Optional.empty(),
          permanent, objects));
    }
    List<DumpEntry> d = new ArrayList<>();
    for (DumpEntry s : dumps) {
      List<ObjectInfo> objects = s.objects().stream().filter(o -> has(present, o)).toList();
      if (objects.isEmpty()) {
        continue;
      }
      boolean complete = objects.stream().anyMatch(o -> o.key().endsWith("/dump.json"));
      d.add(new DumpEntry(s.id(), complete ? s.stopTime() : java.util.Optional.empty(),
          objects.stream().anyMatch(o -> o.key().endsWith("/keep.json")), objects));
    }
    List<ObjectInfo> w = wal.stream().filter(o -> has(present, o)).toList();
    Map<Long, TimelineHistory> h = new HashMap<>();
    if (historiesReadable) {
      histories.forEach((tl, hist) -> {
        if (present == null || present.contains(LAYOUT.walKey(String.format("%08X.history", tl), ".zst"))) {
          h.put(tl, hist);
        }
      });
    }
    return new RepositoryListing(b, d, w, h);
  }

  private static boolean has(Set<String> present, ObjectInfo o) {
    return present == null || present.contains(o.key());
  }

  static BackupPoint point(SimBackup s) {
    return new BackupPoint(s.timeline(), new Lsn(s.startPos() * SEG + 40), new Lsn(s.stopPos() * SEG + 100),
        s.stopTime());
  }

  /** Every key the history stored. */
  Set<String> allKeys() {
    Set<String> out = new HashSet<>();
    wal.forEach(o -> out.add(o.key()));
    backupObjects.values().forEach(l -> l.forEach(o -> out.add(o.key())));
    dumps.forEach(x -> x.objects().forEach(o -> out.add(o.key())));
    return out;
  }

  /** A moment: timeline {@code timeline} was live at {@code at}, and segment {@code pos} holds it. */
  record Moment(long timeline, Instant at, long pos) {
    @Override
    public String toString() {
      return "timeline " + timeline + " at " + at + " (segment " + name(timeline, pos) + ")";
    }
  }

  /** Every moment the archive could hold: the time each segment was archived, on its timeline. */
  List<Moment> moments() {
    List<Moment> out = new ArrayList<>();
    segments.forEach((k, at) -> {
      int slash = k.indexOf('/');
      out.add(new Moment(Long.parseLong(k.substring(0, slash)), at, Long.parseLong(k.substring(slash + 1))));
    });
    return out;
  }

  /** The timelines from {@code from} down to {@code to} when {@code from} is an ancestor, else null. */
  private List<Timeline> chain(long from, long to) {
    List<Timeline> out = new ArrayList<>();
    for (long t = to; t != 0; t = timelines.get(t).parent()) {
      out.add(0, timelines.get(t));
      if (t == from) {
        return out;
      }
    }
    return null;
  }

  /** Whether {@code m} can be restored from backup {@code b} with the objects in {@code present}. */
  boolean restorable(Moment m, SimBackup b, Set<String> present) {
    if (!b.complete() || b.stopTime().isAfter(m.at())
        || !present.contains(LAYOUT.baseManifest(b.id())) || !present.contains(LAYOUT.baseData(b.id(), ".zst"))) {
      return false;
    }
    List<Timeline> chain = chain(b.timeline(), m.timeline());
    if (chain == null || (chain.size() > 1 && b.stopPos() >= chain.get(1).forkPos())) {
      return false;
    }
    if (m.timeline() > 1 && !present.contains(LAYOUT.walKey(String.format("%08X.history", m.timeline()), ".zst"))) {
      return false;
    }
    int owner = 0;
    for (long pos = b.startPos(); pos <= m.pos(); pos++) {
      while (owner + 1 < chain.size() && chain.get(owner + 1).forkPos() <= pos) {
        owner++;
      }
      if (!present.contains(LAYOUT.walKey(name(chain.get(owner).number(), pos).name(), ".zst"))) {
        return false;
      }
    }
    return true;
  }

  /** Whether any stored backup restores {@code m}. */
  boolean restorable(Moment m, Set<String> present) {
    for (int i = backups.size() - 1; i >= 0; i--) {
      if (restorable(m, backups.get(i), present)) {
        return true;
      }
    }
    return false;
  }
}
