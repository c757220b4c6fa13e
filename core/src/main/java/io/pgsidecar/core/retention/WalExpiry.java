package io.pgsidecar.core.retention;

import io.pgsidecar.core.retention.Plan.Decision;
import io.pgsidecar.core.retention.Plan.Rule;
import io.pgsidecar.core.retention.Plan.Subject;
import io.pgsidecar.core.retention.RepositoryListing.BackupEntry;
import io.pgsidecar.core.retention.RepositoryListing.BackupPoint;
import io.pgsidecar.core.retention.RetentionPolicy.KindPolicy;
import io.pgsidecar.core.storage.ObjectInfo;
import io.pgsidecar.core.wal.Segments;
import io.pgsidecar.core.wal.WalFileName;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Which objects under {@code wal/} retention keeps, given the base backups it keeps; the rules are
 * in {@link RetentionPlanner}'s description. Positions are segment numbers counted from LSN 0
 * with the archive's segment size ({@link RepositoryListing#walSegmentSize}: a 64 MiB segment
 * {@code ...0014} holds what 16 MiB arithmetic would call {@code ...0050}, and a backup's start
 * segment must never look older than it is), the same on every timeline: a timeline that forks
 * at LSN X continues the numbering from X's segment.
 */
final class WalExpiry {

  /** A kept backup's WAL need: from its start segment on ({@code forward}) or to its stop segment. */
  private record Need(String id, long timeline, long startPos, long stopPos, boolean forward) {}

  /** An object under wal/ and what its name says. */
  private record WalObject(ObjectInfo info, String name, WalFileName.Kind kind, long timeline, long pos) {}

  private WalExpiry() {}

  static void plan(RepositoryListing listing, Instant now, KindPolicy p,
      Map<String, Selection.Keep> backupKeeps, List<Decision> kept, List<Decision> removed) {
    Segments segs = new Segments(listing.walSegmentSize());
    List<WalObject> objects = new ArrayList<>();
    for (ObjectInfo o : listing.wal()) {
      Optional<WalObject> w = parse(o, segs);
      if (w.isEmpty()) {
        kept.add(new Decision(Subject.OTHER, o.key(), Rule.NOT_OURS,
            "not a WAL file name; retention leaves it alone", List.of(o)));
      } else {
        objects.add(w.get());
      }
    }
    boolean anyBackup = listing.backups().stream().anyMatch(BackupEntry::complete);
    if (!p.isSet() || !anyBackup) {
      for (WalObject w : objects) {
        kept.add(!p.isSet()
            ? decision(w, Rule.NO_POLICY,
                "no retention.base-backups.* rule is set")
            : decision(w, Rule.WAL_NO_BACKUP, "no complete base backup: the archive is the only copy"
                + " of the data, nothing is removed until a backup exists"));
      }
      return;
    }
    List<Need> needs = new ArrayList<>();
    for (BackupEntry b : listing.backups()) {
      Selection.Keep k = backupKeeps.get(b.id());
      if (b.complete() && k != null) {
        BackupPoint pt = b.point().orElseThrow();
        needs.add(new Need(b.id(), pt.timeline(), segs.segmentNo(pt.start().value()),
            segs.segmentNo(pt.stop().value()), k.forward()));
      }
    }
    needs.sort(Comparator.comparingLong(Need::startPos));
    Optional<Instant> windowStart = p.window().map(now::minus);

    long lowestKeptTimeline = needs.stream().mapToLong(Need::timeline).min().orElse(Long.MAX_VALUE);
    List<WalObject> histories = new ArrayList<>();
    for (WalObject w : objects) {
      if (w.kind() == WalFileName.Kind.HISTORY) {
        histories.add(w);
        continue;
      }
      Decision d = segment(w, needs, windowStart, segs);
      if (d.rule() == Rule.WAL_UNNEEDED) {
        removed.add(d);
      } else {
        kept.add(d);
        lowestKeptTimeline = Math.min(lowestKeptTimeline, w.timeline());
      }
    }
    OptionalLong newestHistory = histories.stream().mapToLong(WalObject::timeline).max();
    for (WalObject h : histories) {
      if (h.timeline() >= lowestKeptTimeline) {
        kept.add(decision(h, Rule.TIMELINE_NEEDED, "timeline " + h.timeline() + " is at or above"
            + " timeline " + lowestKeptTimeline + ", the lowest of a kept backup or segment"));
      } else if (h.timeline() == newestHistory.getAsLong()) {
        kept.add(decision(h, Rule.NEWEST_TIMELINE, "the newest history file: PostgreSQL numbers a"
            + " new timeline after the highest one it finds in the archive"));
      } else {
        removed.add(decision(h, Rule.TIMELINE_UNREACHABLE, "timeline " + h.timeline() + " is below"
            + " timeline " + lowestKeptTimeline + ", the lowest of every kept backup and segment"));
      }
    }
  }

  private static Decision segment(WalObject w, List<Need> needs, Optional<Instant> windowStart,
      Segments segs) {
    if (windowStart.isPresent() && w.info().lastModified().isAfter(windowStart.get())) {
      return decision(w, Rule.WAL_WINDOW, "stored inside the window (since " + windowStart.get() + ")");
    }
    for (Need n : needs) {
      if (n.forward() && n.timeline() <= w.timeline() && n.startPos() <= w.pos()) {
        return decision(w, Rule.WAL_PITR, "point-in-time recovery from base backup " + n.id()
            + " (timeline " + n.timeline() + ", from segment " + segs.name(n.timeline(), n.startPos()) + ")");
      }
    }
    for (Need n : needs) {
      if (n.timeline() == w.timeline() && n.startPos() <= w.pos() && w.pos() <= n.stopPos()) {
        return decision(w, Rule.WAL_CONSISTENCY, "base backup " + n.id() + " needs it to reach"
            + " consistency (segments " + segs.name(n.timeline(), n.startPos()) + " to "
            + segs.name(n.timeline(), n.stopPos()) + ")");
      }
    }
    Optional<Need> oldest = needs.stream()
        .filter(n -> n.forward() && n.timeline() <= w.timeline()).findFirst();
    return decision(w, Rule.WAL_UNNEEDED, oldest
        .map(n -> "before segment " + segs.name(n.timeline(), n.startPos()) + " of base backup " + n.id()
            + ", the oldest kept for point-in-time recovery that reaches timeline " + w.timeline())
        .orElse("no base backup kept for point-in-time recovery reaches timeline " + w.timeline()
            + ", and no kept backup needs it to reach consistency"));
  }

  private static Decision decision(WalObject w, Rule rule, String reason) {
    return new Decision(w.kind() == WalFileName.Kind.HISTORY ? Subject.HISTORY : Subject.WAL,
        w.name(), rule, reason, List.of(w.info()));
  }

  /** The WAL file an object under wal/ holds, from its key: the name before the codec suffix. */
  private static Optional<WalObject> parse(ObjectInfo o, Segments segs) {
    String file = o.key().substring(o.key().lastIndexOf('/') + 1);
    if (file.length() >= 24 && WalFileName.isValid(file.substring(0, 24))
        && (file.length() == 24 || file.charAt(24) == '.')) {
      WalFileName seg = WalFileName.parse(file.substring(0, 24));
      if (seg.segment() >= segs.perLog()) {
        return Optional.empty(); // no segment of this size: left alone as not ours
      }
      String name = file.substring(0, 24);
      String rest = file.substring(24);
      WalFileName.Kind kind = WalFileName.Kind.SEGMENT;
      if (rest.startsWith(".partial")) {
        name += ".partial";
        kind = WalFileName.Kind.PARTIAL;
      } else if (rest.length() >= 16 && rest.substring(9).startsWith(".backup")
          && WalFileName.isValid(file.substring(0, 40))) {
        name = file.substring(0, 40);
        kind = WalFileName.Kind.BACKUP;
      }
      return Optional.of(new WalObject(o, name, kind, seg.timeline(),
          seg.log() * segs.perLog() + seg.segment()));
    }
    if (file.length() >= 16 && file.substring(8).startsWith(".history")
        && WalFileName.isValid(file.substring(0, 16))) {
      return Optional.of(new WalObject(o, file.substring(0, 16), WalFileName.Kind.HISTORY,
          WalFileName.parse(file.substring(0, 16)).timeline(), 0));
    }
    return Optional.empty();
  }

}
