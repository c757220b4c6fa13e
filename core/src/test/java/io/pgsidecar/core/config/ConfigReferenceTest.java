package io.pgsidecar.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** docs/configuration.md is generated: this fails when a declaration changed without it. */
class ConfigReferenceTest {

  /** Surefire runs in the module directory: the doc lives at the repository root. */
  private static final Path DOC = Path.of("..", "docs", "configuration.md");

  @Test
  void committedReferenceMatchesTheDeclaredParameters() throws IOException {
    if (Boolean.getBoolean("pgsidecar.writeDocs")) {
      ConfigReference.main(new String[] {DOC.toString()});
    }
    String committed = Files.exists(DOC) ? Files.readString(DOC) : "";
    assertEquals(ConfigReference.markdown(), committed,
        "docs/configuration.md is out of date: regenerate it with ./mvnw -B -q -pl core -am verify "
            + "-Dtest=ConfigReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -Dpgsidecar.writeDocs=true");
  }
}
