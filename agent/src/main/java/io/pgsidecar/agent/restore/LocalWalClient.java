package io.pgsidecar.agent.restore;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Which WAL client a {@code restore_command} written by {@code pgsidecar restore} names when no
 * one said ({@code --wal-archiver}, {@code restore.wal-archiver}): the pod's path
 * {@value #POD_PATH} where it exists (in a pod), else the client installed beside the running
 * {@code pgsidecar} (on a host: {@code bin/wal-archiver} of the same installation, found from
 * where this program's classes were loaded: {@code /opt/pgsidecar/lib/*.jar} in the image,
 * {@code agent/target/...} in a checkout), else the pod's path unchanged.
 */
final class LocalWalClient {

  /** The default of {@code restore.wal-archiver}: where the pod's init container copies the client. */
  static final String POD_PATH = "/pgsidecar/bin/wal-archiver";

  private LocalWalClient() {}

  /** {@code configured}, unless it is the pod's path and this host has none: then the local client. */
  static String choose(String configured) {
    if (!configured.equals(POD_PATH) || Files.exists(Path.of(POD_PATH))) {
      return configured;
    }
    return besideThisProgram().map(Path::toString).orElse(configured);
  }

  /** {@code <installation>/bin/wal-archiver}, looking up from this program's code, if executable. */
  static Optional<Path> besideThisProgram() {
    Path code;
    try {
      code = Path.of(LocalWalClient.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException | RuntimeException e) {
      return Optional.empty();
    }
    for (Path dir = code.getParent(); dir != null && code.getNameCount() - dir.getNameCount() <= 4;
        dir = dir.getParent()) {
      Path client = dir.resolve("bin/wal-archiver");
      if (Files.isRegularFile(client) && Files.isExecutable(client)) {
        return Optional.of(client.toAbsolutePath().normalize());
      }
    }
    return Optional.empty();
  }
}
