package io.pgsidecar.agent.retention;

import io.pgsidecar.core.retention.Plan;
import io.pgsidecar.core.retention.Plan.Decision;
import io.pgsidecar.core.retention.Plan.Subject;
import io.pgsidecar.core.storage.ObjectInfo;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A run as the JSON {@code POST /v1/retention} answers and {@code retention apply --output json}
 * prints: every removed item with its objects, rule and reason; every kept backup and dump with
 * its rule and reason; kept WAL and history files counted by rule (there are thousands); and
 * {@code stored}: the objects and bytes of each kind the run read in the repository
 * ({@code before}) and what is stored once it is done ({@code after}; with a dry run, what would
 * be). Kinds: {@code baseBackups}, {@code dumps}, {@code wal} (segments, history files, anything
 * else under the WAL folder), {@code debris} (leftovers of interrupted uploads), as
 * {@code pgsidecar status} counts them (its {@code other}, {@code cluster.json}, is not read by
 * retention).
 */
public final class RetentionReport {

  /** Kinds counted rather than listed when kept. */
  private static final Set<Subject> COUNTED = EnumSet.of(Subject.WAL, Subject.HISTORY, Subject.OTHER);

  private RetentionReport() {}

  public static Map<String, Object> of(RetentionService.Run run) {
    Plan plan = run.plan();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("dryRun", run.dryRun());
    m.put("trigger", run.trigger());
    m.put("now", plan.now().toString());
    Map<String, Object> policy = new LinkedHashMap<>();
    policy.put("baseBackups", plan.policy().baseBackups().describe());
    policy.put("dumps", plan.policy().dumps().describe());
    policy.put("orphanAge", io.pgsidecar.core.retention.Durations.format(plan.policy().orphanAge()));
    m.put("policy", policy);
    List<Map<String, Object>> removed = new ArrayList<>();
    for (Decision d : plan.removed()) {
      Map<String, Object> item = item(d);
      List<Map<String, Object>> objects = new ArrayList<>();
      for (ObjectInfo o : d.objects()) {
        Map<String, Object> obj = new LinkedHashMap<>();
        obj.put("key", o.key());
        obj.put("bytes", o.storedSize());
        objects.add(obj);
      }
      item.put("objects", objects);
      removed.add(item);
    }
    m.put("removed", removed);
    List<Map<String, Object>> kept = new ArrayList<>();
    Map<String, Map<String, Integer>> counted = new LinkedHashMap<>();
    for (Decision d : plan.kept()) {
      if (COUNTED.contains(d.subject())) {
        counted.computeIfAbsent(d.subject().label(), k -> new LinkedHashMap<>())
            .merge(d.rule().label(), 1, Integer::sum);
      } else {
        kept.add(item(d));
      }
    }
    m.put("kept", kept);
    List<Map<String, Object>> tiers = new ArrayList<>();
    for (Plan.TierChange t : plan.tiers()) {
      Map<String, Object> tier = new LinkedHashMap<>();
      tier.put("id", t.id());
      tier.put("rule", t.rule().label());
      tier.put("tier", t.tier());
      tier.put("key", t.object().key());
      tiers.add(tier);
    }
    m.put("tiers", tiers);
    m.put("keptCounts", counted);
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("removedObjects", plan.removedObjects());
    summary.put("removedBytes", plan.removedBytes());
    run.outcome().ifPresent(o -> {
      summary.put("deletedObjects", o.objects());
      summary.put("deletedBytes", o.bytes());
      summary.put("alreadyGone", o.alreadyGone());
      summary.put("leftAsPermanent", o.skipped());
      summary.put("tiered", o.tiered());
    });
    m.put("summary", summary);
    m.put("stored", stored(run));
    return m;
  }

  /** The kind a subject is stored and counted as. */
  static String kind(Subject subject) {
    return switch (subject) {
      case BASE_BACKUP, UNFINISHED_BACKUP -> "baseBackups";
      case DUMP, UNFINISHED_DUMP -> "dumps";
      case WAL, HISTORY, OTHER -> "wal";
      case DEBRIS -> "debris";
    };
  }

  private static Map<String, Object> stored(RetentionService.Run run) {
    Map<String, RetentionService.Stored> before = new LinkedHashMap<>();
    Map<String, RetentionService.Stored> gone = new LinkedHashMap<>();
    for (String k : List.of("baseBackups", "dumps", "wal", "debris")) {
      before.put(k, new RetentionService.Stored(0, 0));
      gone.put(k, new RetentionService.Stored(0, 0));
    }
    List<Decision> all = new ArrayList<>(run.plan().kept());
    all.addAll(run.plan().removed());
    for (Decision d : all) {
      before.merge(kind(d.subject()), new RetentionService.Stored(d.objects().size(), d.bytes()),
          RetentionService.Stored::plus);
    }
    if (run.dryRun()) {
      for (Decision d : run.plan().removed()) {
        gone.merge(kind(d.subject()), new RetentionService.Stored(d.objects().size(), d.bytes()),
            RetentionService.Stored::plus);
      }
    } else {
      run.deleted().forEach((k, v) -> gone.merge(k, v, RetentionService.Stored::plus));
    }
    Map<String, Object> b = new LinkedHashMap<>();
    Map<String, Object> a = new LinkedHashMap<>();
    before.forEach((k, v) -> {
      b.put(k, usage(v));
      a.put(k, usage(v.minus(gone.get(k))));
    });
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("before", b);
    out.put("after", a);
    return out;
  }

  private static Map<String, Object> usage(RetentionService.Stored s) {
    Map<String, Object> u = new LinkedHashMap<>();
    u.put("objects", s.objects());
    u.put("bytes", s.bytes());
    return u;
  }

  private static Map<String, Object> item(Decision d) {
    Map<String, Object> item = new LinkedHashMap<>();
    item.put("kind", d.subject().label());
    item.put("id", d.id());
    item.put("rule", d.rule().label());
    item.put("reason", d.reason());
    item.put("bytes", d.bytes());
    return item;
  }
}
