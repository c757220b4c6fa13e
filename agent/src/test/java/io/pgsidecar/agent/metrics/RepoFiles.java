package io.pgsidecar.agent.metrics;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds files of the repository (dashboards/, docs/) from a module's test working directory. */
final class RepoFiles {
  private RepoFiles() {}

  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("dashboards/alerts.yml"))) {
        return p;
      }
    }
    throw new IllegalStateException("no dashboards/alerts.yml above " + dir
        + "; run the tests from inside the pgsidecar repository");
  }

  static Path file(String relative) {
    return root().resolve(relative);
  }
}
