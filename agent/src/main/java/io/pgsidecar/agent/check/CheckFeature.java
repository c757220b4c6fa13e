package io.pgsidecar.agent.check;

import io.pgsidecar.agent.feature.Feature;
import java.util.List;

/**
 * {@code pgsidecar check}: {@link CheckCommand} runs {@link CheckService} in the CLI's own process
 * (configuration, storage, PostgreSQL, archiving end to end). No daemon side: the check asks the
 * running agent only whether it answers.
 */
public final class CheckFeature implements Feature {

  @Override
  public String name() {
    return "check";
  }

  @Override
  public List<Class<?>> commands() {
    return List.of(CheckCommand.class);
  }
}
