package io.pgsidecar.agent.restore;

import io.pgsidecar.agent.feature.Feature;
import java.util.List;

/**
 * Point-in-time restore by hand: {@link RestoreCommand} ({@code pgsidecar restore --to DIR}) runs
 * the restore-init container's engine in the CLI's own process. No daemon side: a restore never
 * goes through the running agent.
 */
public final class RestoreFeature implements Feature {

  @Override
  public String name() {
    return "restore";
  }

  @Override
  public List<Class<?>> commands() {
    return List.of(RestoreCommand.class);
  }
}
