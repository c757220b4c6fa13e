package io.pgsidecar.agent.wal;

import io.pgsidecar.agent.feature.Feature;
import java.util.List;

/**
 * WAL archiving: push ({@code io.pgsidecar.agent.wal.push}) and fetch
 * ({@code io.pgsidecar.agent.wal.fetch}) on the hook socket, wired by the {@code Agent} itself
 * (every agent serves them, also one built without the other features), and {@link WalCommand}
 * ({@code pgsidecar wal list}).
 */
public final class WalFeature implements Feature {

  @Override
  public String name() {
    return "WAL archive";
  }

  @Override
  public List<Class<?>> commands() {
    return List.of(WalCommand.class);
  }
}
