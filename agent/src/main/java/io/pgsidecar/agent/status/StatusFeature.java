package io.pgsidecar.agent.status;

import io.pgsidecar.agent.feature.Feature;
import java.util.List;

/**
 * {@code pgsidecar status}: {@link StatusCommand} merges the agent's {@code /v1/status} with what
 * storage holds ({@link RepositoryStatus}). The daemon side of the status ({@code /v1/status}
 * itself, {@link AgentActivity}, {@link RepositoryGauges}) is wired by the agent's
 * {@code Sidecar}, not here.
 */
public final class StatusFeature implements Feature {

  @Override
  public String name() {
    return "status";
  }

  @Override
  public List<Class<?>> commands() {
    return List.of(StatusCommand.class);
  }
}
