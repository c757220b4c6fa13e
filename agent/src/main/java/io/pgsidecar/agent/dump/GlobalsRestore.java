package io.pgsidecar.agent.dump;

import io.pgsidecar.core.job.JobException;
import io.pgsidecar.agent.postgres.PgConnection;
import io.pgsidecar.agent.postgres.PgTool;
import io.pgsidecar.core.repo.DumpManifest;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The roles and tablespaces of a dump ({@code globals.sql}) on a target, for
 * {@code pgsidecar dump restore --globals}: checked in a first read before the target changes
 * (no psql meta-command, roles that exist already are kept as they are), then applied.
 */
final class GlobalsRestore {

  /** Opens an object of the dump, decoded. */
  @FunctionalInterface
  interface Opener {
    DecodedObject open(DumpManifest.Entry entry, String what) throws IOException;
  }

  private final PgTool tool;
  private final Opener opener;

  GlobalsRestore(PgTool tool, Opener opener) {
    this.tool = tool;
    this.opener = opener;
  }

  Set<String> existingRoles(PgConnection maintenance) throws IOException {
    String out = tool.run("psql", maintenance,
        List.of("-XAtq0", "-c", "select rolname from pg_roles"),
        "listing the roles of " + maintenance.describe());
    return new HashSet<>(Arrays.stream(out.split("\0")).map(s -> s.replaceFirst("\n$", ""))
        .filter(s -> !s.isEmpty()).toList());
  }

  /**
   * The first read of globals.sql, before the target changes: which of its roles exist on the
   * target already (they are kept as they are), no psql meta-command on any line, and size and
   * SHA-256 as dump.json records them.
   */
  List<String> check(DumpManifest.Entry globals, Set<String> existing)
      throws IOException {
    List<String> kept = new ArrayList<>();
    GlobalsFilter filter = new GlobalsFilter(Set.of());
    try (DecodedObject script = opener.open(globals, "globals script")) {
      BufferedReader reader = new BufferedReader(
          new InputStreamReader(script.in(), StandardCharsets.UTF_8));
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        keep(filter, line, globals);
        if (line.startsWith("CREATE ROLE ")) {
          String role = GlobalsFilter.roleOf(line);
          if (existing.contains(role)) {
            kept.add(role);
          }
        }
      }
      script.verifyToEnd();
    }
    return kept;
  }

  /** {@link GlobalsFilter#keep}, with the object named when a line is refused. */
  private static boolean keep(GlobalsFilter filter, String line, DumpManifest.Entry globals)
      throws IOException {
    try {
      return filter.keep(line);
    } catch (GlobalsFilter.MetaCommandException e) {
      throw new JobException(JobException.Kind.VERIFICATION_FAILED, "globals script "
          + globals.key() + ": " + e.getMessage() + "; nothing was restored. The dump is not what"
          + " pg_dumpall wrote: pick another dump, or restore without --globals", e);
    }
  }

  /**
   * Applies globals.sql through psql with {@code ON_ERROR_STOP=0}: a tablespace whose directory
   * does not exist on the target, or a membership granted by a role that was kept, must not stop
   * the database restore that follows. psql's errors are returned as warnings for the operator.
   */
  List<String> apply(DecodedObject globals, PgConnection maintenance, Set<String> existing)
      throws IOException {
    GlobalsFilter filter = new GlobalsFilter(existing);
    try (PgTool.Child psql = tool.start("psql", maintenance,
        List.of("-X", "-q", "-v", "ON_ERROR_STOP=0"))) {
      psql.discardStdout();
      // The reader is not closed here: that would close the decoded stream before its check.
      BufferedReader reader = new BufferedReader(
          new InputStreamReader(globals.in(), StandardCharsets.UTF_8));
      try (BufferedWriter writer = new BufferedWriter(
              new OutputStreamWriter(psql.process().getOutputStream(), StandardCharsets.UTF_8))) {
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
          if (keep(filter, line, globals.entry())) {
            writer.write(line);
            writer.write('\n');
          }
        }
      } catch (IOException e) {
        psql.checkSuccess("applying the globals of " + globals.entry().key() + " to "
            + maintenance.describe());
        throw e;
      }
      globals.verifyToEnd("it changed since it was verified, and psql has run it: check the"
          + " roles on the target");
      psql.checkSuccess("applying the globals of " + globals.entry().key() + " to "
          + maintenance.describe());
      return psql.stderr().lines().filter(l -> l.contains("ERROR:")).toList();
    }
  }
}
