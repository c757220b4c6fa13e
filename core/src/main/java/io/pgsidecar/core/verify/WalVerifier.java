package io.pgsidecar.core.verify;

import io.pgsidecar.core.codec.CodecPipeline;
import io.pgsidecar.core.job.JobException;
import io.pgsidecar.core.repo.ArchiveCatalog;
import io.pgsidecar.core.repo.BackupManifest;
import io.pgsidecar.core.repo.RepositoryLayout;
import io.pgsidecar.core.repo.SegmentSize;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.storage.Storage;
import io.pgsidecar.core.wal.Segments;
import io.pgsidecar.core.wal.TimelineHistory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * {@code pgsidecar wal verify}: is every segment there that a restore may need? Per timeline,
 * the span that must be complete runs
 * <ul>
 *   <li>from the later of the oldest backup's start segment and the segment where the timeline
 *       begins (its {@code .history} file's switch point; timeline 1 begins at the start);</li>
 *   <li>to the later of its newest stored segment and the last whole segment before a child
 *       timeline took over (the segment holding the switch point is archived as
 *       {@code .partial} on the parent and complete on the child).</li>
 * </ul>
 * Without a backup, each timeline is checked from its oldest stored segment. A timeline after 1
 * whose {@code .history} file is missing is a problem too: recovery cannot follow it. The
 * segment size is not assumed: {@link SegmentSize}.
 */
public final class WalVerifier {

  private final Storage storage;
  private final RepositoryLayout layout;
  private final CodecPipeline pipeline;

  public WalVerifier(Storage storage, RepositoryLayout layout, CodecPipeline pipeline) {
    this.storage = storage;
    this.layout = layout;
    this.pipeline = pipeline;
  }

  /**
   * Reads the archive's listing (and its history files) and reports the gaps; it reads no
   * segment's content.
   *
   * @throws JobException STORAGE_UNAVAILABLE when the repository cannot be read
   */
  public WalReport verify() {
    try {
      ArchiveCatalog catalog = new ArchiveCatalog(storage, layout);
      List<BackupManifest> backups = catalog.backups();
      SegmentSize size = SegmentSize.of(storage, layout, backups);
      return verify(catalog.describe(), backups, size, listing(size.segments()));
    } catch (IOException e) {
      throw new JobException(JobException.Kind.STORAGE_UNAVAILABLE, "cannot read the WAL archive "
          + layout.walRoot() + " from " + storage.describe() + ": " + e.getMessage()
          + "; check the storage and run the verification again", e);
    }
  }

  /** What the WAL folder holds: segments by timeline, history files, the newest segment. */
  record Listing(Map<Long, TreeSet<Long>> segments, Map<Long, TimelineHistory> histories,
      String newest, Optional<Instant> newestAt) {}

  private Listing listing(Segments s) throws IOException {
    Map<Long, TreeSet<Long>> segments = new TreeMap<>();
    Map<Long, String> historyKeys = new HashMap<>();
    Map<Long, ObjectInfo> historyInfo = new HashMap<>();
    Segments.Segment newest = null;
    Instant newestAt = null;
    try (Stream<ObjectInfo> objects = storage.list(layout.walRoot())) {
      for (ObjectInfo o : (Iterable<ObjectInfo>) objects::iterator) {
        Optional<Segments.Segment> seg = s.ofKey(o.key());
        if (seg.isPresent()) {
          Segments.Segment g = seg.get();
          segments.computeIfAbsent(g.timeline(), t -> new TreeSet<>()).add(g.number());
          if (newest == null || g.timeline() > newest.timeline()
              || (g.timeline() == newest.timeline() && g.number() > newest.number())) {
            newest = g;
            newestAt = o.lastModified();
          }
          continue;
        }
        String file = o.key().substring(o.key().lastIndexOf('/') + 1);
        if (file.length() >= 16 && file.substring(8).startsWith(".history")
            && file.substring(0, 8).matches("[0-9A-F]{8}")) {
          long tli = Long.parseLong(file.substring(0, 8), 16);
          historyKeys.put(tli, o.key());
          historyInfo.put(tli, o);
        }
      }
    }
    Map<Long, TimelineHistory> histories = new TreeMap<>();
    for (var e : historyKeys.entrySet()) {
      histories.put(e.getKey(), readHistory(e.getKey(), e.getValue(), historyInfo.get(e.getKey())));
    }
    return new Listing(segments, histories,
        newest == null ? "" : s.name(newest.timeline(), newest.number()),
        Optional.ofNullable(newestAt));
  }

  private TimelineHistory readHistory(long tli, String key, ObjectInfo info) throws IOException {
    try (InputStream in = storage.open(key).orElseThrow(() -> new IOException(key
            + " disappeared while being read; run the verification again"));
        InputStream plain = pipeline.decode(in, info.metadata().codec(), key)) {
      String text = new String(plain.readAllBytes(), StandardCharsets.UTF_8);
      try {
        return TimelineHistory.parse(tli, text, key);
      } catch (IllegalArgumentException e) {
        throw new JobException(JobException.Kind.VERIFICATION_FAILED, e.getMessage()
            + "; the archive's timeline history is damaged", e);
      }
    }
  }

  static WalReport verify(String archive, List<BackupManifest> backups, SegmentSize size,
      Listing listing) {
    Segments s = size.segments();
    Optional<BackupManifest> oldest = backups.stream().findFirst();
    long backupStart = oldest.flatMap(b -> s.ofName(b.walStartSegment()))
        .map(Segments.Segment::number).orElse(-1L);
    // the oldest backup's own WAL is needed whatever else is stored on its timeline
    Optional<Segments.Segment> backupStop = oldest.flatMap(b -> s.ofName(b.walStopSegment()));
    // where each timeline begins (its parent's switch point) and where a child took over
    Map<Long, Long> begins = new HashMap<>();
    Map<Long, Long> childTakesOver = new HashMap<>();
    for (TimelineHistory h : listing.histories().values()) {
      long at = s.segmentNo(h.parent().at().value());
      begins.put(h.timeline(), at);
      childTakesOver.merge(h.parent().timeline(), at, Math::max);
    }
    TreeSet<Long> timelines = new TreeSet<>(listing.segments().keySet());
    timelines.addAll(childTakesOver.keySet());
    backupStop.ifPresent(b -> timelines.add(b.timeline()));
    List<WalReport.Timeline> out = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (long tli : timelines) {
      TreeSet<Long> stored = listing.segments().getOrDefault(tli, new TreeSet<>());
      boolean historyMissing = tli > 1 && !listing.histories().containsKey(tli);
      long oldestStored = stored.isEmpty() ? Long.MAX_VALUE : stored.first();
      // without its history file nobody knows where the timeline begins: from what is stored
      long first = historyMissing ? oldestStored : Math.max(begins.getOrDefault(tli, 0L),
          backupStart >= 0 ? backupStart : oldestStored);
      long last = Math.max(stored.isEmpty() ? -1 : stored.last(),
          Math.max(childTakesOver.containsKey(tli) ? childTakesOver.get(tli) - 1 : -1,
              backupStop.filter(b -> b.timeline() == tli).map(Segments.Segment::number).orElse(-1L)));
      if (last < first) {
        continue; // the timeline ends before the span starts
      }
      List<WalReport.Gap> gaps = new ArrayList<>();
      long expect = first;
      for (long n : stored.subSet(first, true, last, true)) {
        if (n > expect) {
          gaps.add(new WalReport.Gap(tli, s.name(tli, expect), s.name(tli, n - 1), n - expect));
        }
        expect = n + 1;
      }
      if (expect <= last) {
        gaps.add(new WalReport.Gap(tli, s.name(tli, expect), s.name(tli, last), last - expect + 1));
      }
      if (historyMissing) {
        problems.add("timeline " + tli + ": " + String.format("%08X", tli) + ".history missing"
            + " (recovery cannot follow timeline " + tli + " without it)");
      }
      gaps.forEach(g -> problems.add(g.describe()));
      long present = stored.subSet(first, true, last, true).size();
      out.add(new WalReport.Timeline(tli, s.name(tli, first), s.name(tli, last), present, gaps,
          historyMissing));
    }
    return new WalReport(archive, s.size(), size.source(), oldest.map(BackupManifest::id), out,
        problems, listing.newest(), listing.newestAt());
  }

  /** The report, or a VERIFICATION_FAILED naming every problem when the archive is not whole. */
  public static WalReport requireWhole(WalReport r) {
    if (!r.ok()) {
      throw new JobException(JobException.Kind.VERIFICATION_FAILED, "WAL archive " + r.archive()
          + " is not continuous: " + String.join("; ", r.problems()) + "; a restore cannot replay"
          + " past a missing segment: take a new base backup (pgsidecar backup create) so that"
          + " recovery starts after the gap, and find out why archiving skipped it",
          Map.of("problems", r.problems()), null);
    }
    return r;
  }
}
