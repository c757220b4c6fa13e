package io.pgsidecar.core.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Generates docs/configuration.md from {@link ConfigParameters}, so the reference cannot drift
 * from the code: a test compares the committed file with {@link #markdown()}.
 * {@code main(path)} rewrites the file.
 */
public final class ConfigReference {

  private ConfigReference() {}

  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "docs/configuration.md");
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, markdown());
  }

  public static String markdown() {
    StringBuilder sb = new StringBuilder();
    sb.append("""
        # Configuration reference

        <!-- Generated from core/src/main/java/io/pgsidecar/core/config/ConfigParameters.java by
             ConfigReferenceTest; do not edit by hand. To regenerate:
             ./mvnw -B -q -pl core -am verify -Dtest=ConfigReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -Dpgsidecar.writeDocs=true -->

        pgsidecar reads one YAML file (`--config FILE` or `PGSIDECAR_CONFIG`) and the environment.
        Nested YAML maps name the keys below (`storage: {azure: {account: x}}` is
        `storage.azure.account`). Every key can also be set by an environment variable:
        `PGSIDECAR_` followed by the key upper-cased with `.` and `-` written `_`.

        Precedence, highest first: `PGSIDECAR_*` variables, the YAML file, the libpq variables
        named in the table (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSFILE`, `PGPASSWORD`),
        the default. An empty value counts as unset. Lists are YAML lists or comma-separated text.
        Sizes use binary units (`8MiB`), durations `ms`, `s`, `m`, `h`, `d` (`30s`, `10m`).

        Secrets (marked below) are read only from the environment, never from the YAML file, and
        are never printed: `pgsidecar config show` shows them as `<redacted>`. Other secrets are
        files (`*-file` keys) mounted from Kubernetes Secrets.

        Unknown keys, unknown `PGSIDECAR_*` variables, bad values and missing required keys stop
        the start with every problem listed at once; `pgsidecar config check` runs the same checks.

        | key | environment variable | value | default | description |
        |---|---|---|---|---|
        """);
    for (Param<?> p : ConfigParameters.ALL) {
      String env = "`" + p.envVar() + "`" + p.libpqFallback().map(v -> " (or `" + v + "`)").orElse("");
      String def = p.defaultText().map(d -> "`" + d + "`").or(p::defaultNote).orElse("");
      String description = p.description() + (p.secret() ? " **Secret.**" : "");
      sb.append("| `").append(p.key()).append("` | ").append(env).append(" | ")
          .append(escape(p.type().expected())).append(" | ").append(def).append(" | ")
          .append(escape(description)).append(" |\n");
    }
    return sb.toString();
  }

  private static String escape(String cell) {
    return cell.replace("|", "\\|");
  }
}
