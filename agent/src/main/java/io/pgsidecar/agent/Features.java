package io.pgsidecar.agent;

import io.pgsidecar.agent.backup.BackupFeature;
import io.pgsidecar.agent.check.CheckFeature;
import io.pgsidecar.agent.dump.DumpFeature;
import io.pgsidecar.agent.feature.Feature;
import io.pgsidecar.agent.feature.FeatureContext;
import io.pgsidecar.agent.restore.RestoreFeature;
import io.pgsidecar.agent.status.StatusFeature;
import io.pgsidecar.agent.wal.WalFeature;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The one registry of the agent's features: the {@code pgsidecar} CLI takes their commands from
 * here, the {@link Sidecar} their routes, status parts, schedules and shutdown. Adding a job is
 * one line in {@link #ALL}.
 */
public final class Features {

  /**
   * Every feature, in the order their routes are added, their parts of {@code /v1/status} appear
   * and {@code pgsidecar --help} lists their commands.
   */
  public static final List<Feature> ALL = List.of(
      new BackupFeature(),
      new DumpFeature(),
      new WalFeature(),
      new RestoreFeature(),
      new io.pgsidecar.agent.retention.RetentionFeature(),
      new io.pgsidecar.agent.verify.VerifyFeature(),

      new CheckFeature(),
      new StatusFeature());

  private Features() {}

  /** The command classes of every feature, in {@link #ALL}'s order. */
  public static List<Class<?>> commands() {
    return ALL.stream().flatMap(f -> f.commands().stream()).toList();
  }

  /**
   * The subcommands features add under other features' commands, by the parent command's name,
   * in {@link #ALL}'s order.
   */
  public static java.util.Map<String, List<Class<?>>> subcommands() {
    java.util.Map<String, List<Class<?>>> out = new java.util.LinkedHashMap<>();
    for (Feature f : ALL) {
      f.subcommands().forEach((parent, classes) ->
          out.computeIfAbsent(parent, p -> new ArrayList<>()).addAll(classes));
    }
    return out;
  }

  /**
   * Opens the daemon side of every feature; if one fails, those already open are closed again.
   *
   * @throws IllegalArgumentException for a setting a feature cannot run with (it names the key)
   */
  public static List<Feature.Running> open(FeatureContext context) throws IOException {
    List<Feature.Running> open = new ArrayList<>();
    try {
      for (Feature f : ALL) {
        open.add(f.open(context));
      }
    } catch (IOException | RuntimeException e) {
      close(open);
      throw e;
    }
    return List.copyOf(open);
  }

  /** Closes {@code running} in reverse order, each even when another fails. */
  public static void close(List<Feature.Running> running) {
    for (Feature.Running r : running.reversed()) {
      try {
        r.close();
      } catch (RuntimeException e) {
        System.getLogger(Features.class.getName()).log(System.Logger.Level.WARNING,
            "closing a feature failed: " + e.getMessage(), e);
      }
    }
  }
}
