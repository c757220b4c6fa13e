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
 * its rule and reason; kept WAL and history files counted by rule (there are thousands).
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
    return m;
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
