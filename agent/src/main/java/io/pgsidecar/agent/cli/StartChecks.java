package io.pgsidecar.agent.cli;

import io.pgsidecar.core.config.PgsidecarConfig;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code pgsidecar agent} checks before anything else runs, so that a mistake a new user
 * makes is one line naming the key to change, not an agent that starts and then answers every
 * backup with HTTP 500, nor a {@code BindException} stack trace:
 * <ul>
 *   <li>a filesystem repository ({@code storage.type: fs}) whose {@code storage.path} does not
 *       exist or is not a directory (a volume that is not mounted, a typo); a read-only one may
 *       serve restores, so writability is {@code pgsidecar check}'s question;</li>
 *   <li>a TCP port the agent listens on ({@code metrics.port}, {@code http.tcp-port}) that
 *       another process holds.</li>
 * </ul>
 * Storage that cannot be reached over the network is not refused here: an outage must make the
 * agent not ready, never stop it (the kubelet would restart it in a loop).
 */
final class StartChecks {

  private StartChecks() {}

  /** One line per problem; empty when the agent may start. */
  static List<String> problems(PgsidecarConfig config) {
    List<String> problems = new ArrayList<>();
    if (config.storage().type() == PgsidecarConfig.StorageType.FS) {
      config.storage().path().flatMap(StartChecks::repositoryProblem).ifPresent(problems::add);
    }
    if (config.metrics().port() > 0) {
      portProblem("metrics.port", "PGSIDECAR_METRICS_PORT", config.metrics().host(),
          config.metrics().port(), ", or 0 to turn /metrics off").ifPresent(problems::add);
    }
    config.http().tcpPort().filter(p -> p > 0).flatMap(p -> portProblem("http.tcp-port",
        "PGSIDECAR_HTTP_TCP_PORT", "127.0.0.1", p, ", or leave it unset to listen on the unix"
            + " sockets only")).ifPresent(problems::add);
    return problems;
  }

  /**
   * The line for a listener that could not bind, when {@code failure} (or a cause) is a
   * {@link BindException}: the port was free at the check and taken before the agent bound it.
   */
  static java.util.Optional<String> bindProblem(PgsidecarConfig config, Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof BindException) {
        String m = String.valueOf(failure.getMessage());
        if (m.contains("/metrics")) {
          return java.util.Optional.of(portLine("metrics.port", "PGSIDECAR_METRICS_PORT",
              config.metrics().host(), config.metrics().port(), t.getMessage(),
              ", or 0 to turn /metrics off"));
        }
        if (config.http().tcpPort().isPresent() && m.contains("127.0.0.1:")) {
          return java.util.Optional.of(portLine("http.tcp-port", "PGSIDECAR_HTTP_TCP_PORT",
              "127.0.0.1", config.http().tcpPort().get(), t.getMessage(), ""));
        }
        return java.util.Optional.of("cannot listen: " + m + "; check socket (PGSIDECAR_SOCKET),"
            + " http.admin-socket (PGSIDECAR_HTTP_ADMIN_SOCKET), metrics.port and http.tcp-port:"
            + " another agent may be running with the same settings");
      }
    }
    return java.util.Optional.empty();
  }

  private static java.util.Optional<String> repositoryProblem(Path path) {
    String fix = "; create it (owned by the agent's user) or set storage.path"
        + " (PGSIDECAR_STORAGE_PATH) to the repository's directory";
    if (!Files.exists(path)) {
      return java.util.Optional.of("storage.path " + path + " does not exist" + fix
          + " (a volume that is not mounted?)");
    }
    if (!Files.isDirectory(path)) {
      return java.util.Optional.of("storage.path " + path + " is not a directory" + fix);
    }
    return java.util.Optional.empty();
  }

  private static java.util.Optional<String> portProblem(String key, String variable, String host,
      int port, String orElse) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
      return java.util.Optional.empty();
    } catch (BindException e) {
      return java.util.Optional.of(portLine(key, variable, host, port, e.getMessage(), orElse));
    } catch (IOException e) {
      // an address this host does not have, say: the real bind reports it
      return java.util.Optional.empty();
    }
  }

  private static String portLine(String key, String variable, String host, int port, String why,
      String orElse) {
    return key + " " + port + " on " + host + " is taken (" + why + "): another process, maybe a"
        + " second agent, listens there; set " + key + " (" + variable + ") to a free port" + orElse;
  }
}
